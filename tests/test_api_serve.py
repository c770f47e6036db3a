"""``rag serve`` as a real process on loopback: changes survive restarts; bad indexes fail fast."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from rag.cli import app as cli_app
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder
from tests.live_server import start_serve, stop_serve

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DOC = {
    "id": "e2e/重启",
    "title": "重启之后仍在的文档",
    "text": "苏州工业园区发布了独角兽企业培育计划，首批入选企业共十二家。\n\n"
    "该计划由园区科技创新委员会牵头实施。",
}


@contextmanager
def rag_serve(index_dir: Path, log: Path, **env: str) -> Iterator[httpx.Client]:
    """Run ``rag serve`` until the block ends; yields a client once /healthz answers."""
    process, url = start_serve(index_dir, log, env, cwd=log.parent)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client
    finally:
        stop_serve(process)


def doc_ids(client: httpx.Client, query: str) -> list[str]:
    results = client.post("/search", json={"query": query, "top_k": 10}).json()["results"]
    return [r["doc_id"] for r in results]


@pytest.mark.e2e
def test_a_document_survives_restarts_and_a_deletion_too(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"  # empty: the first start builds it
    log = tmp_path / "serve.log"
    with rag_serve(index_dir, log, RAG_EMBEDDER="hash") as client:
        assert client.get("/healthz").json()["documents"] == 29
        assert client.post("/documents", json=DOC).status_code == 201
    assert "building it from" in log.read_text(encoding="utf-8")

    with rag_serve(index_dir, log, RAG_EMBEDDER="hash") as client:
        assert client.get("/healthz").json()["documents"] == 30
        assert client.get("/documents/e2e/重启").json()["title"] == DOC["title"]
        assert DOC["id"] in doc_ids(client, "独角兽企业培育计划")
        assert client.delete("/documents/e2e/重启").status_code == 204

    with rag_serve(index_dir, log, RAG_EMBEDDER="hash") as client:
        assert client.get("/healthz").json()["documents"] == 29
        assert client.get("/documents/e2e/重启").status_code == 404
        assert DOC["id"] not in doc_ids(client, "独角兽企业培育计划")


@pytest.mark.e2e
def test_the_real_model_serves_answers_and_keeps_added_documents(
    e5_index_dir: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(e5_index_dir, index_dir)
    log = tmp_path / "serve.log"
    with rag_serve(index_dir, log) as client:
        health = client.get("/healthz").json()
        assert health["embedder"] == "e5-small"
        answer = client.post("/ask", json={"question": "光谷瞪羚企业累计达到多少家？"}).json()
        assert answer["answered"] and "1690" in answer["answer"]
        assert client.post("/documents", json=DOC).status_code == 201
        assert doc_ids(client, "苏州有多少家企业入选独角兽培育计划？")[0] == DOC["id"]

    with rag_serve(index_dir, log) as client:
        assert client.get("/healthz").json()["documents"] == health["documents"] + 1
        assert doc_ids(client, "苏州有多少家企业入选独角兽培育计划？")[0] == DOC["id"]


def test_serve_refuses_a_mismatched_index_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    RagEngine(
        Settings(index_dir=index_dir, corpus=[SEEDS], embedder="hash"), HashEmbedder()
    ).build()
    monkeypatch.setenv("RAG_CORPUS", str(SEEDS))  # the default embedder is e5-small
    result = CliRunner().invoke(cli_app, ["serve", "--index-dir", str(index_dir), "--port", "1"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "embedder hash" in lines[0]
