"""Optional bearer token on writes (or on everything), and CORS closed unless configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.dependencies import get_settings
from rag.engine import RagEngine

TOKEN = "s3cret-token"
DOC = {"id": "auth/1", "title": "鉴权测试", "text": "只有持有令牌的客户端才能写入。"}
READS = [
    ("GET", "/healthz", None),
    ("GET", "/metrics", None),
    ("GET", "/documents", None),
    ("GET", "/documents/000_edf5affd2abe794d-01", None),
    ("POST", "/search", {"query": "光谷"}),
    ("POST", "/ask", {"question": "光谷瞪羚企业有多少家？"}),
    ("POST", "/ask/stream", {"question": "光谷瞪羚企业有多少家？"}),
]


def client_with(engine: RagEngine, **settings: object) -> TestClient:
    """An app whose routes see ``settings`` (through the settings dependency)."""
    app = create_app(engine=engine)
    patched = engine.settings.model_copy(update=settings)
    app.dependency_overrides[get_settings] = lambda: patched
    return TestClient(app)


@pytest.fixture
def guarded(hash_engine: RagEngine) -> Iterator[TestClient]:
    with client_with(hash_engine, api_token=TOKEN) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), bearer(TOKEN + "x"), bearer(TOKEN[:-1]), {"Authorization": TOKEN}],
)
def test_writes_need_the_token(guarded: TestClient, headers: dict[str, str]) -> None:
    r = guarded.post("/documents", json=DOC, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
    assert guarded.delete("/documents/000_edf5affd2abe794d-01", headers=headers).status_code == 401
    assert guarded.get("/documents/auth/1").status_code == 404
    assert guarded.get("/documents/000_edf5affd2abe794d-01").status_code == 200


def test_the_right_token_writes(guarded: TestClient) -> None:
    assert guarded.post("/documents", json=DOC, headers=bearer(TOKEN)).status_code == 201
    assert guarded.delete("/documents/auth/1", headers=bearer(TOKEN)).status_code == 204


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_reads_stay_open_unless_asked(
    guarded: TestClient, method: str, path: str, body: object
) -> None:
    assert guarded.request(method, path, json=body).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_reads_need_the_token_with_token_reads(
    hash_engine: RagEngine, method: str, path: str, body: object
) -> None:
    with client_with(hash_engine, api_token=TOKEN, api_token_reads=True) as c:
        r = c.request(method, path, json=body)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
        assert c.request(method, path, json=body, headers=bearer(TOKEN)).status_code == 200


def test_without_a_token_configured_writes_are_open(hash_engine: RagEngine) -> None:
    with TestClient(create_app(engine=hash_engine)) as c:
        assert c.post("/documents", json=DOC).status_code == 201


def test_cors_is_closed_by_default(hash_engine: RagEngine) -> None:
    with TestClient(create_app(engine=hash_engine)) as c:
        r = c.post("/search", json={"query": "光谷"}, headers={"Origin": "https://example.org"})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers
        preflight = c.options(
            "/search",
            headers={
                "Origin": "https://example.org",
                "Access-Control-Request-Method": "POST",
            },
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_the_configured_origins(hash_engine: RagEngine) -> None:
    settings = hash_engine.settings.model_copy(update={"cors_origins": ["https://app.example"]})
    with TestClient(create_app(settings, hash_engine)) as c:
        preflight = c.options(
            "/ask",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        r = c.post("/search", json={"query": "光谷"}, headers={"Origin": "https://app.example"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        other = c.post(
            "/search", json={"query": "光谷"}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
