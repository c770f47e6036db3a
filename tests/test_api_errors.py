"""Bad input gets a 4xx with a JSON error body; nothing gets a bare 500 or kills the server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.engine import RagEngine

JSON = {"content-type": "application/json"}


@pytest.fixture
def client(hash_engine: RagEngine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=hash_engine)) as c:
        yield c


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/search", {"query": ""}, "invalid_request"),
        ("/search", {"query": "   \n\t"}, "invalid_input"),
        ("/search", {"query": "光" * 1001}, "invalid_input"),
        ("/search", {"query": 42}, "invalid_request"),
        ("/search", {"query": ["光谷"]}, "invalid_request"),
        ("/search", {"query": None}, "invalid_request"),
        ("/search", {}, "invalid_request"),
        ("/search", {"query": "光谷", "top_k": 0}, "invalid_request"),
        ("/search", {"query": "光谷", "top_k": 51}, "invalid_request"),
        ("/search", {"query": "光谷", "top_k": "5"}, "invalid_request"),
        ("/search", {"query": "光谷", "top_k": 2.5}, "invalid_request"),
        ("/search", {"query": "光谷", "top_k": True}, "invalid_request"),
        ("/search", {"query": "光谷", "topk": 5}, "invalid_request"),
        ("/search", ["光谷"], "invalid_request"),
        ("/search", "光谷", "invalid_request"),
        ("/ask", {"question": ""}, "invalid_request"),
        ("/ask", {"question": "\u3000\u3000"}, "invalid_input"),
        ("/ask", {"question": "问" * 1001}, "invalid_input"),
        ("/ask", {"question": "光谷", "top_k": 21}, "invalid_request"),
        ("/ask", {"question": "光谷", "mode": "generative"}, "invalid_request"),
        ("/ask/stream", {"question": "问" * 1001}, "invalid_input"),
        ("/ask/stream", {"question": "光谷", "top_k": -1}, "invalid_request"),
        ("/documents", {"title": "标题"}, "invalid_request"),
        ("/documents", {"title": "", "text": "正文。"}, "invalid_request"),
        ("/documents", {"title": "标题", "text": "\n\n  \n"}, "invalid_input"),
        ("/documents", {"id": "  ", "title": "标题", "text": "正文。"}, "invalid_request"),
        ("/documents", {"id": "a\nb", "title": "标题", "text": "正文。"}, "invalid_request"),
        ("/documents", {"id": 7, "title": "标题", "text": "正文。"}, "invalid_request"),
    ],
)
def test_invalid_bodies_are_422_with_a_json_error(
    client: TestClient, path: str, body: Any, code: str
) -> None:
    error = assert_error(client.post(path, json=body), 422, code)
    if code == "invalid_request":
        assert error["details"][0]["loc"][0] == "body"
    assert client.get("/healthz").status_code == 200


def test_the_question_limit_is_inclusive(client: TestClient) -> None:
    assert client.post("/search", json={"query": "光" * 1000}).status_code == 200


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b'{"question": "\xe5\x85\x89\xff"}', JSON, 400, "invalid_json"),
        (b'{"question": "\\ud800"}', JSON, 400, "invalid_unicode"),
        (b'{"question": "x"', JSON, 422, "invalid_json"),
        (b"question=x", JSON, 422, "invalid_json"),
        (b"", JSON, 422, "invalid_request"),
        (b'{"question": "x"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"question": "x"}', {}, 415, "unsupported_media_type"),
        (
            b"question=x",
            {"content-type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
    ],
)
def test_undecodable_or_non_json_bodies_are_4xx(
    client: TestClient, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    assert_error(client.post("/ask", content=content, headers=headers), status, code)


def test_a_json_subtype_is_accepted(client: TestClient) -> None:
    r = client.post(
        "/search",
        content='{"query": "光谷"}'.encode(),
        headers={"content-type": "application/merge-patch+json; charset=utf-8"},
    )
    assert r.status_code == 200


def test_unknown_documents_and_paths_are_404(client: TestClient) -> None:
    assert_error(client.get("/documents/no/such/doc"), 404, "document_not_found")
    assert_error(client.delete("/documents/no-such-doc"), 404, "document_not_found")
    assert_error(client.get("/nowhere"), 404, "not_found")
    assert_error(client.put("/search", json={"query": "x"}), 405, "method_not_allowed")


@pytest.mark.parametrize("params", [{"offset": -1}, {"limit": 0}, {"limit": 501}, {"limit": "ten"}])
def test_bad_pagination_is_422(client: TestClient, params: dict[str, Any]) -> None:
    assert_error(client.get("/documents", params=params), 422, "invalid_request")


def test_mode_llm_without_an_llm_is_a_4xx(client: TestClient) -> None:
    r = client.post("/ask", json={"question": "光谷瞪羚企业有多少家？", "mode": "llm"})
    assert 400 <= r.status_code < 500
    assert "RAG_LLM_BASE_URL" in r.json()["error"]["message"]


def test_oversized_bodies_are_refused_whether_declared_or_streamed(
    hash_engine: RagEngine,
) -> None:
    settings = hash_engine.settings.model_copy(update={"max_body_bytes": 2048})
    big = ('{"query": "' + "光" * 1000 + '"}').encode()  # 3 bytes per character
    assert len(big) > 2048
    with TestClient(create_app(settings, hash_engine)) as client:
        declared = client.post("/search", content=big, headers=JSON)
        assert_error(declared, 413, "payload_too_large")

        def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
            for i in range(0, len(big), 512):
                yield big[i : i + 512]

        streamed = client.post("/search", content=chunks(), headers=JSON)
        assert_error(streamed, 413, "payload_too_large")

        small = '{"query": "光谷"}'.encode()
        assert client.post("/search", content=iter([small]), headers=JSON).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_an_over_long_document_is_refused_and_nothing_is_written(hash_engine: RagEngine) -> None:
    settings = hash_engine.settings.model_copy(update={"max_document_chars": 100})
    hash_engine.settings = settings
    generation = hash_engine.store.stats().version
    with TestClient(create_app(settings, hash_engine)) as client:
        r = client.post("/documents", json={"id": "long", "title": "长文", "text": "字" * 101})
        assert_error(r, 422, "invalid_input")
        assert client.get("/documents/long").status_code == 404
    assert hash_engine.store.stats().version == generation


def test_a_write_that_fails_midway_leaves_the_index_as_it_was(
    hash_engine: RagEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    generation = hash_engine.store.stats().version

    def broken(texts: Any) -> Any:
        raise RuntimeError("embedding backend crashed")

    monkeypatch.setattr(hash_engine.embedder, "embed_passages", broken)
    with TestClient(create_app(engine=hash_engine), raise_server_exceptions=False) as client:
        r = client.post("/documents", json={"id": "x", "title": "新文", "text": "全新的内容。"})
        assert_error(r, 500, "internal_error")
        assert "crashed" not in r.text  # internals stay in the log
        assert client.get("/documents/x").status_code == 404
        assert client.get("/healthz").json()["index_version"] == generation
    reopened = RagEngine(hash_engine.settings, embedder=hash_engine.embedder)
    assert reopened.store.stats().version == generation
    assert reopened.store.article("x") is None


def test_an_unexpected_error_is_a_json_500_and_the_server_keeps_serving(
    hash_engine: RagEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def bug(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    with TestClient(create_app(engine=hash_engine), raise_server_exceptions=False) as client:
        monkeypatch.setattr(hash_engine, "ask_async", bug)  # after the warm-up in the lifespan
        assert_error(client.post("/ask", json={"question": "光谷"}), 500, "internal_error")
        assert client.post("/search", json={"query": "光谷"}).status_code == 200
    assert "ZeroDivisionError" in caplog.text
