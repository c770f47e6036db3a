"""Live document updates: add, replace, delete; persisted, searchable, never blocking reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder

DOC = {
    "id": "notes/2024/杭州",
    "title": "杭州高新区发布人工智能产业新政",
    "text": "杭州高新区近日发布人工智能产业新政，设立五十亿元的鲲鹏产业基金。\n\n"
    "新政提出，到二〇二六年全区人工智能核心产业营收突破三千亿元。",
}


@pytest.fixture
def client(hash_engine: RagEngine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=hash_engine)) as c:
        yield c


def doc_ids(client: TestClient, query: str) -> list[str]:
    results = client.post("/search", json={"query": query, "top_k": 5}).json()["results"]
    return [r["doc_id"] for r in results]


def url(doc_id: str) -> str:
    return "/documents/" + quote(doc_id)


def test_an_added_document_is_listed_opened_and_found(client: TestClient) -> None:
    r = client.post("/documents", json=DOC)
    assert r.status_code == 201
    assert r.json() == {"id": DOC["id"], "title": DOC["title"], "paragraph_count": 2}
    assert r.headers["location"] == url(DOC["id"])
    opened = client.get(r.headers["location"]).json()
    assert [p["index"] for p in opened["paragraphs"]] == [1, 2]
    assert opened["paragraphs"][0]["text"].startswith("杭州高新区近日发布")
    first = opened["paragraphs"][0]
    assert DOC["text"][first["start"] : first["end"]] == first["text"]
    assert client.get("/documents", params={"limit": 500}).json()["total"] == 30
    assert DOC["id"] in doc_ids(client, "鲲鹏产业基金")
    answer = client.post("/ask", json={"question": "杭州高新区设立的产业基金叫什么？"}).json()
    assert DOC["id"] in [c["doc_id"] for c in answer["citations"]]


def test_the_same_id_replaces_the_document(client: TestClient) -> None:
    client.post("/documents", json=DOC)
    replacement = {**DOC, "text": "杭州高新区调整了新政，改设麒麟创新基金。"}
    r = client.post("/documents", json=replacement)
    assert r.status_code == 201
    assert r.json()["paragraph_count"] == 1
    assert client.get("/documents").json()["total"] == 30
    assert client.get(url(DOC["id"])).json()["paragraphs"][0]["text"] == replacement["text"]
    assert DOC["id"] in doc_ids(client, "麒麟创新基金")
    texts = [
        r["text"] for r in client.post("/search", json={"query": "鲲鹏产业基金"}).json()["results"]
    ]
    assert not any("鲲鹏" in t for t in texts)


def test_without_an_id_the_same_content_gets_the_same_id(client: TestClient) -> None:
    body = {"title": DOC["title"], "text": DOC["text"]}
    first = client.post("/documents", json=body).json()["id"]
    again = client.post("/documents", json=body).json()["id"]
    assert first == again and first.startswith("doc-")
    assert client.get("/documents").json()["total"] == 30


def test_a_deleted_document_is_gone_everywhere(client: TestClient) -> None:
    client.post("/documents", json=DOC)
    assert client.delete(url(DOC["id"])).status_code == 204
    assert client.get(url(DOC["id"])).status_code == 404
    assert client.delete(url(DOC["id"])).status_code == 404
    assert client.get("/documents").json()["total"] == 29
    assert DOC["id"] not in doc_ids(client, "鲲鹏产业基金")
    seed = "000_edf5affd2abe794d-03"
    assert client.delete(url(seed)).status_code == 204
    assert seed not in doc_ids(client, "厦门火炬高新区 智能制造示范名单")


def test_changes_are_on_disk_before_the_response(
    client: TestClient, hash_engine: RagEngine
) -> None:
    client.post("/documents", json=DOC)
    client.delete(url("000_edf5affd2abe794d-03"))
    reopened = RagEngine(hash_engine.settings, embedder=HashEmbedder())
    assert reopened.store.article(DOC["id"]) is not None
    assert reopened.store.article("000_edf5affd2abe794d-03") is None
    assert reopened.store.stats().version == client.get("/healthz").json()["index_version"]


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.passages: list[str] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages += texts
        return super().embed_passages(texts)


def test_only_the_new_documents_chunks_are_embedded(hash_settings: Any) -> None:
    embedder = CountingEmbedder()
    engine = RagEngine(hash_settings, embedder=embedder)
    engine.build()
    embedder.passages.clear()
    with TestClient(create_app(engine=engine)) as client:
        client.post("/search", json={"query": "光谷"})
        embedder.passages.clear()
        assert client.post("/documents", json=DOC).status_code == 201
    new_chunks = [c for c in list(engine.store.iter_chunks()) if c.doc_id == DOC["id"]]
    assert len(embedder.passages) == len(new_chunks) == 2


class BlockingEmbedder(HashEmbedder):
    """Holds every passage-embedding call until released, like a long embedding job."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.entered.set()
        assert self.release.wait(timeout=60), "test never released the embedder"
        return super().embed_passages(texts)


def test_searches_are_served_while_a_document_is_being_embedded(hash_settings: Any) -> None:
    embedder = BlockingEmbedder()
    embedder.release.set()
    engine = RagEngine(hash_settings, embedder=embedder)
    engine.build()
    embedder.release.clear()
    with TestClient(create_app(engine=engine)) as client:
        results: dict[str, Any] = {}
        writer = threading.Thread(
            target=lambda: results.setdefault("write", client.post("/documents", json=DOC))
        )
        writer.start()
        try:
            assert embedder.entered.wait(timeout=30)
            # The write is parked inside embedding; reads must not wait for it.
            for query in ("光谷瞪羚企业", "细胞谷", "综合保税区"):
                r = client.post("/search", json={"query": query})
                assert r.status_code == 200
                assert DOC["id"] not in [h["doc_id"] for h in r.json()["results"]]
            assert client.get("/healthz").json()["documents"] == 29
            assert writer.is_alive()
        finally:
            embedder.release.set()
            writer.join(timeout=60)
        assert results["write"].status_code == 201
        assert client.get("/healthz").json()["documents"] == 30
