"""The server ``rag serve`` runs, on loopback, driven with raw sockets: what a client that
stalls, floods or speaks broken HTTP gets. Every socket read is bounded, so a regression
fails in seconds rather than hanging the run.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.server import build_server
from rag.engine import RagEngine

HEADER_TIMEOUT = 0.6
BODY_TIMEOUT = 1.0
MAX_CONNECTIONS = 4
SLACK = 1.5  # scheduling on a loaded 2-core machine

ANNOUNCED_BODY = (
    b"POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n"
)


@dataclass(frozen=True)
class Live:
    port: int

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.settimeout(BODY_TIMEOUT + HEADER_TIMEOUT + SLACK * 2)
        return sock


@contextmanager
def running(engine: RagEngine, **updates: object) -> Iterator[Live]:
    settings = engine.settings.model_copy(
        update={
            "header_timeout": HEADER_TIMEOUT,
            "body_timeout": BODY_TIMEOUT,
            "max_connections": MAX_CONNECTIONS,
            **updates,
        }
    )
    server = build_server(settings, port=0, engine=engine, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Live(port)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def live(hash_engine: RagEngine) -> Iterator[Live]:
    with running(hash_engine) as server:
        yield server


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (or the socket's timeout)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        data += b"<still open>"
    except ConnectionResetError:
        data += b"<reset>"
    return data


def exchange(live: Live, request: bytes) -> tuple[bytes, float]:
    with closing(live.connect()) as sock:
        started = time.monotonic()
        sock.sendall(request)
        return read_all(sock), time.monotonic() - started


def parse(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def json_error(response: bytes, status: int) -> dict[str, str]:
    got, headers, body = parse(response)
    assert got == status, response
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    error: dict[str, str] = json.loads(body)["error"]
    return error


# -- read deadlines -------------------------------------------------------------------------


def test_a_body_that_is_announced_and_never_sent_gets_a_408(live: Live) -> None:
    response, took = exchange(live, ANNOUNCED_BODY)
    error = json_error(response, 408)
    assert error["code"] == "request_timeout" and "RAG_BODY_TIMEOUT" in error["message"]
    assert BODY_TIMEOUT * 0.9 <= took < BODY_TIMEOUT + SLACK


def test_a_body_sent_a_byte_at_a_time_is_cut_off_at_the_deadline(live: Live) -> None:
    # Each byte arrives well within the deadline: the deadline is for the whole body.
    with closing(live.connect()) as sock:
        started = time.monotonic()
        sock.sendall(ANNOUNCED_BODY)
        try:
            for _ in range(40):
                sock.sendall(b" ")
                time.sleep(BODY_TIMEOUT / 8)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = read_all(sock)
        took = time.monotonic() - started
    assert json_error(response, 408)["code"] == "request_timeout"
    assert took < BODY_TIMEOUT + SLACK


def test_headers_that_never_finish_get_a_408(live: Live) -> None:
    response, took = exchange(live, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    error = json_error(response, 408)
    assert "RAG_HEADER_TIMEOUT" in error["message"]
    assert took < HEADER_TIMEOUT + SLACK


def test_a_connection_that_sends_nothing_is_closed(live: Live) -> None:
    with closing(live.connect()) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""  # closed, with nothing to answer
        assert time.monotonic() - started < HEADER_TIMEOUT + SLACK


def test_fifty_stalled_connections_are_all_released(hash_engine: RagEngine) -> None:
    # The probe's case: 50 connections announcing a body were still open after 61 s.
    with running(hash_engine, max_connections=100) as live:
        socks = [live.connect() for _ in range(50)]
        try:
            for sock in socks:
                sock.sendall(ANNOUNCED_BODY)
            answers = [read_all(sock) for sock in socks]
        finally:
            for sock in socks:
                sock.close()
        assert all(parse(a)[0] == 408 for a in answers), {a[:40] for a in answers}
        response, _ = exchange(
            live, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        assert parse(response)[0] == 200


def test_clients_within_the_deadlines_are_served_and_kept_alive(live: Live) -> None:
    body = json.dumps({"query": "光谷瞪羚企业", "top_k": 1}).encode()
    head = (
        b"POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with closing(live.connect()) as sock:
        for _ in range(2):  # two requests on one kept-alive connection, each sent in pieces
            sock.sendall(head[:20])
            time.sleep(HEADER_TIMEOUT / 3)
            sock.sendall(head[20:] + body[:5])
            time.sleep(BODY_TIMEOUT / 3)
            sock.sendall(body[5:])
            status, headers, rest = parse(sock.recv(65536))
            while len(rest) < int(headers["content-length"]):
                rest += sock.recv(65536)
            assert status == 200 and json.loads(rest)["results"]
        # Idle between requests is uvicorn's keep-alive timeout's business, not a 408.
        sock.settimeout(HEADER_TIMEOUT + 0.5)
        assert read_all(sock) == b"<still open>"


def test_a_body_left_unread_does_not_hold_the_connection(hash_engine: RagEngine) -> None:
    with running(hash_engine, api_token="s3cret") as live, closing(live.connect()) as sock:
        started = time.monotonic()
        sock.sendall(ANNOUNCED_BODY.replace(b"/search", b"/documents"))
        status, _, _ = parse(sock.recv(65536))
        assert status == 401  # answered without reading the body
        try:
            for _ in range(40):  # a trickle of body bytes must not keep it open
                sock.sendall(b" ")
                time.sleep(BODY_TIMEOUT / 8)
        except (BrokenPipeError, ConnectionResetError):
            pass
        read_all(sock)
        assert time.monotonic() - started < BODY_TIMEOUT + SLACK


# -- connection limit -----------------------------------------------------------------------


def test_connections_over_the_limit_get_a_503_until_others_finish(live: Live) -> None:
    held = [live.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in held:
            sock.sendall(ANNOUNCED_BODY)
        time.sleep(0.2)
        response, _ = exchange(live, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        error = json_error(response, 503)
        assert error["code"] == "over_capacity" and "RAG_MAX_CONNECTIONS" in error["message"]
        assert parse(response)[1]["retry-after"] == "1"
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    response, _ = exchange(live, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert parse(response)[0] == 200


# -- what uvicorn refuses before the app is JSON too ----------------------------------------


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: -1\r\n\r\n",
        b"POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: ten\r\n\r\n",
        b"POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        "GET /documents/文档 HTTP/1.1\r\nHost: t\r\n\r\n".encode(),
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=[
        "negative-length",
        "non-numeric-length",
        "bad-chunk-size",
        "raw-utf8-path",
        "bad-header",
        "garbage",
    ],
)
def test_malformed_http_gets_the_json_error_body(live: Live, request_bytes: bytes) -> None:
    response, took = exchange(live, request_bytes)
    error = json_error(response, 400)
    assert error["code"] == "bad_request" and "malformed HTTP request" in error["message"]
    assert took < SLACK
    response, _ = exchange(live, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert parse(response)[0] == 200  # and the server is unharmed


def test_head_healthz_on_the_real_server(live: Live) -> None:
    response, _ = exchange(live, b"HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, headers, body = parse(response)
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


# -- the same through the `rag serve` process -------------------------------------------


@pytest.mark.e2e
def test_rag_serve_applies_its_settings_to_connections(tmp_path: Path) -> None:
    from tests.test_api_serve import rag_serve

    log = tmp_path / "serve.log"
    env = {"RAG_EMBEDDER": "hash", "RAG_BODY_TIMEOUT": "1", "RAG_HEADER_TIMEOUT": "1"}
    with rag_serve(tmp_path / "index", log, **env) as client:
        live = Live(client.base_url.port or 0)
        response, took = exchange(live, ANNOUNCED_BODY)
        assert "RAG_BODY_TIMEOUT" in json_error(response, 408)["message"]
        assert took < 1 + SLACK
        response, _ = exchange(
            live, b"POST /search HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n"
        )
        assert json_error(response, 400)["code"] == "bad_request"
        head = client.head("/healthz")
        assert head.status_code == 200 and head.content == b""
        assert client.get("/healthz").json()["documents"] == 29


def test_rag_serve_hands_the_server_a_settings_object(
    hash_engine: RagEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import api.server
    from rag.cli import app as cli_app

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        api.server, "serve", lambda settings, **kw: calls.append({"settings": settings, **kw})
    )
    monkeypatch.setenv("RAG_EMBEDDER", "hash")
    monkeypatch.setenv("RAG_BODY_TIMEOUT", "7")
    index_dir = hash_engine.index_dir
    args = ["serve", "--index-dir", str(index_dir), "--host", "127.0.0.2", "--port", "8123"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    [call] = calls
    assert call["settings"].index_dir == index_dir and call["settings"].body_timeout == 7
    assert (call["host"], call["port"]) == ("127.0.0.2", 8123)
    assert call["engine"].has_index()  # the engine that checked the index is the one served
    assert "RAG_INDEX_DIR" not in os.environ  # no settings passed through the environment
