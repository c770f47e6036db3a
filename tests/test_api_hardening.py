"""The faults a probe of `rag serve` found (issue 16), each through the whole HTTP app.

What needs a real socket (read deadlines, the connection limit, requests uvicorn refuses before
the app) is in ``test_api_server.py``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from api.app import create_app
from rag.cli import app as cli_app
from rag.config import Settings, get_settings
from rag.engine import RagEngine
from tests.conftest import SEEDS

JSON = {"Content-Type": "application/json"}
NFC = unicodedata.normalize("NFC", "notes/café")
NFD = unicodedata.normalize("NFD", "notes/café")


@pytest.fixture
def client(hash_engine: RagEngine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=hash_engine)) as c:
        yield c


def total(client: TestClient) -> int:
    count: int = client.get("/documents").json()["total"]
    return count


# -- every text field is valid Unicode, or a 400 --------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/documents", '{"id": "\\ud800", "title": "t", "text": "正文"}'),
        ("/documents", '{"id": "a\\udfffb", "title": "t", "text": "正文"}'),
        ("/documents", '{"id": "x", "title": "\\ud800", "text": "正文"}'),
        ("/documents", '{"id": "x", "title": "t", "text": "正文\\udc00"}'),
        ("/search", '{"query": "光谷\\ud800"}'),
        ("/ask", '{"question": "\\udbff"}'),
        ("/ask/stream", '{"question": "\\udbff"}'),
    ],
)
def test_a_lone_surrogate_in_any_text_field_is_a_400(
    client: TestClient, path: str, body: str
) -> None:
    before = total(client)
    r = client.post(path, content=body.encode(), headers=JSON)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_unicode"
    assert "not valid Unicode" in error["message"] and error["message"].startswith("body.")
    assert total(client) == before


# -- ids are normalised ---------------------------------------------------------------------


def test_nfc_and_nfd_ids_are_one_document(client: TestClient) -> None:
    before = total(client)
    first = client.post("/documents", json={"id": NFC, "title": "一", "text": "第一版正文。"})
    second = client.post("/documents", json={"id": NFD, "title": "二", "text": "第二版正文。"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] == NFC
    assert second.headers["location"] == "/documents/" + quote(NFC)
    assert total(client) == before + 1
    # Looked up or deleted in either form, it is the same document.
    assert client.get("/documents/" + quote(NFD)).json()["title"] == "二"
    assert client.delete("/documents/" + quote(NFD)).status_code == 204
    assert client.get("/documents/" + quote(NFC)).status_code == 404
    assert total(client) == before


def test_invisible_characters_are_not_part_of_an_id(client: TestClient) -> None:
    r = client.post(
        "/documents", json={"id": "\u200bnotes/\u202e1\u202c ", "title": "t", "text": "正文。"}
    )
    assert r.status_code == 201 and r.json()["id"] == "notes/1"
    assert client.get("/documents/notes/1").status_code == 200
    assert client.get("/documents/" + quote("notes/\u200b1")).status_code == 200


@pytest.mark.parametrize("doc_id", ["\u200b", "\u202e", "\ufeff\u200d", " \u3000 ", "a\x1bb"])
def test_an_id_of_nothing_visible_or_with_controls_is_refused(
    client: TestClient, doc_id: str
) -> None:
    before = total(client)
    r = client.post("/documents", json={"id": doc_id, "title": "t", "text": "正文。"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"
    assert r.json()["error"]["message"].startswith("body.id:")
    assert total(client) == before


@pytest.mark.parametrize(
    ("title", "text", "what"),
    [
        ("t", "\x01\x02\x03", "document text"),
        ("t", "\u200b\u200b\n\n\u202e", "document text"),
        ("t", "\x00", "document text"),
        ("\u200b", "正文。", "document title"),
        (" \u3000", "正文。", "document title"),
    ],
)
def test_a_document_with_no_visible_text_is_refused(
    client: TestClient, title: str, text: str, what: str
) -> None:
    before = total(client)
    r = client.post("/documents", json={"id": "invisible", "title": title, "text": text})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == {
        "code": "invalid_input",
        "message": f"{what} has no visible characters",
    }
    assert total(client) == before


def test_the_library_and_the_cli_normalise_alike(hash_engine: RagEngine) -> None:
    article = hash_engine.add_document("标题", "正文。", doc_id=NFD)
    assert article.doc_id == NFC
    assert hash_engine.document(NFD).doc_id == NFC
    hash_engine.delete_document(NFD)
    with pytest.raises(Exception, match="no document"):
        hash_engine.document(NFC)


# -- authentication comes first -------------------------------------------------------------


@pytest.fixture
def guarded(hash_engine: RagEngine) -> Iterator[TestClient]:
    settings = hash_engine.settings.model_copy(update={"api_token": "s3cret"})
    with TestClient(create_app(settings, hash_engine)) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/documents", b'{"id": "x", "title": '),
        ("POST", "/documents", b"not json at all"),
        ("POST", "/documents", b'{"id": "\\ud800"}'),
        ("POST", "/documents", b'["wrong", "shape"]'),
    ],
)
def test_no_token_is_a_401_whatever_the_body(
    guarded: TestClient, method: str, path: str, body: bytes
) -> None:
    r = guarded.request(method, path, content=body, headers=JSON)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
    # With the token, the same body gets the error about itself.
    authorised = {**JSON, "Authorization": "Bearer s3cret"}
    assert guarded.request(method, path, content=body, headers=authorised).status_code in (
        400,
        422,
    )


def test_reads_with_a_read_token_check_it_before_the_body(hash_engine: RagEngine) -> None:
    settings = hash_engine.settings.model_copy(
        update={"api_token": "s3cret", "api_token_reads": True}
    )
    with TestClient(create_app(settings, hash_engine)) as c:
        for path in ("/search", "/ask", "/ask/stream", "/v1/chat/completions"):
            assert c.post(path, content=b'{"query": ', headers=JSON).status_code == 401


def hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Should the check be missing, `rag serve` fails fast (port 1) on a small hash index."""
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_CORPUS", str(SEEDS))
    monkeypatch.setenv("RAG_EMBEDDER", "hash")


@pytest.mark.parametrize("token", ["", " ", "\t\n"])
def test_an_empty_token_is_a_startup_error(
    token: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="empty or only white space"):
        Settings(api_token=token)
    hermetic(monkeypatch, tmp_path)
    monkeypatch.setenv("RAG_API_TOKEN", token)
    get_settings.cache_clear()
    with pytest.raises(ValidationError):  # the uvicorn factory path fails at start too
        create_app()
    result = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        "error: RAG_API_TOKEN: empty or only white space; set a token, or unset the variable "
        "to serve without authentication"
    ]


def test_token_reads_without_a_token_is_a_startup_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hermetic(monkeypatch, tmp_path)
    monkeypatch.setenv("RAG_API_TOKEN_READS", "1")
    result = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert (
        result.output.strip() == "error: RAG_API_TOKEN_READS=1 needs RAG_API_TOKEN: no token is set"
    )


# -- HEAD -----------------------------------------------------------------------------------


def test_head_answers_every_get_route_without_a_body(client: TestClient) -> None:
    for path in ("/healthz", "/documents", "/documents/000_edf5affd2abe794d-01", "/metrics"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
    assert client.head("/healthz").headers["content-length"] == str(
        len(client.get("/healthz").content)
    )
    assert client.head("/documents/no-such-id").status_code == 404
    assert client.head("/search").status_code == 405  # POST only, as for GET
