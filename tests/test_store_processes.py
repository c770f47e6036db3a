"""Several processes on one index: a real ``rag serve`` killed mid-write loses no acknowledged
write, and a server sees what ``rag index`` commits from another process without a restart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder
from tests.conftest import ROOT, SEEDS, copy_index
from tests.live_server import start_serve
from tests.test_api_serve import rag_serve

HASH = {"RAG_EMBEDDER": "hash"}
INDEX = [sys.executable, "-m", "rag.cli", "index"]


def _start(index_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    process, url = start_serve(index_dir, log, HASH, cwd=ROOT, seconds=120)
    return process, httpx.Client(base_url=url, timeout=30)


def _document(n: int) -> dict[str, str]:
    return {
        "id": f"kill-{n}",
        "title": f"写入测试{n}",
        "text": f"第{n}号文档的第一段，记录编号{n}的设备。\n\n第{n}号文档的第二段，说明编号{n}的用途。",
    }


@pytest.mark.e2e
def test_sigkill_during_writes_loses_no_acknowledged_write(
    hash_index_dir: Path, tmp_path: Path
) -> None:
    index_dir = copy_index(hash_index_dir, tmp_path / "index")
    log = tmp_path / "serve.log"
    acknowledged: list[str] = []
    counter = iter(range(10**6))
    rng = random.Random(7)
    for _ in range(20):
        process, client = _start(index_dir, log)
        stop = threading.Event()

        def writer(client: httpx.Client = client, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                doc = _document(next(counter))
                try:
                    r = client.post("/documents", json=doc)
                except httpx.TransportError:
                    return
                if r.status_code == 201:
                    acknowledged.append(doc["id"])

        threads = [threading.Thread(target=writer) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.2, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        stop.set()
        for t in threads:
            t.join()
        client.close()

    assert len(acknowledged) >= 20
    engine = RagEngine(
        Settings(index_dir=index_dir, corpus=[SEEDS], embedder="hash"), embedder=HashEmbedder()
    )
    stats = engine.store.stats()
    for doc_id in acknowledged:
        article = engine.store.article(doc_id)
        assert article is not None, doc_id
        assert len(article.paragraphs) == 2  # whole, never half a document
        assert len(engine.store.paragraph_chunks(doc_id, 2)) == 1
    total, articles = engine.store.articles(0, 10**6)
    assert total == stats.documents == len(articles)
    assert stats.chunks == len(list(engine.store.iter_chunks()))
    assert not list(index_dir.glob(".vectors.*.tmp*"))  # leftovers went when the index opened
    last = acknowledged[-1]
    number = last.split("-")[1]
    assert engine.search(f"第{number}号文档的第二段", 1, "bm25").hits[0].chunk.doc_id == last


@pytest.mark.e2e
def test_rag_index_in_another_process_is_seen_by_a_running_server_and_both_writes_stay(
    hash_index_dir: Path, tmp_path: Path
) -> None:
    index_dir = copy_index(hash_index_dir, tmp_path / "index")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "graphene.txt").write_text(
        "石墨烯产业园\n\n石墨烯产业园今年新增企业三十家，产值突破百亿元。", encoding="utf-8"
    )
    with rag_serve(index_dir, tmp_path / "serve.log", **HASH) as client:
        before = client.get("/healthz").json()["documents"]
        subprocess.run(
            [*INDEX, "--corpus", str(extra), "--index-dir", str(index_dir)],
            env={**os.environ, **HASH},
            cwd=ROOT,
            check=True,
            timeout=300,
            capture_output=True,
        )
        deadline = time.monotonic() + 5
        while client.get("/healthz").json()["documents"] != before + 1:
            assert time.monotonic() < deadline, "the server did not notice the other commit"
            time.sleep(0.1)
        hits = client.post("/search", json={"query": "石墨烯产业园新增企业", "top_k": 1}).json()
        assert hits["results"][0]["doc_id"] == "graphene"
        r = client.post("/documents", json={"id": "api-doc", "title": "接口", "text": "接口写入。"})
        assert r.status_code == 201
        assert client.get("/healthz").json()["documents"] == before + 2
    engine = RagEngine(
        Settings(index_dir=index_dir, corpus=[SEEDS], embedder="hash"), embedder=HashEmbedder()
    )
    assert engine.store.article("graphene") is not None
    assert engine.store.article("api-doc") is not None
