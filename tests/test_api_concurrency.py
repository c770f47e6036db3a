"""Many clients at once over real HTTP: no errors, the same answers as one client alone, and a
stream abandoned by its client stops being produced."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from rag.answer.types import StreamEvent
from rag.config import Settings
from rag.engine import RagEngine

QUESTIONS = [
    "光谷瞪羚企业累计达到多少家？",
    "天津滨海高新区要建设什么谷？",
    "广州知识城综合保税区是什么时候获批的？",
    "贵阳综保区打造了什么样的智慧办税模式？",
    "海口高新区的飞地经济合作示范区在哪里？",
    "厦门火炬高新区有哪些企业上榜智能制造示范名单？",
    "磁约束聚变中子源预研装置的建设期是多久？",
    "Which high-tech zone is called the Optics Valley?",
]
CLIENTS = 16


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in a thread, for the block."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def request_for(n: int) -> tuple[str, dict[str, Any]]:
    question = QUESTIONS[n % len(QUESTIONS)]
    if n % 2:
        return "/ask", {"question": question, "top_k": 3}
    return "/search", {"query": question, "top_k": 5}


def without_time(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "took_ms"}


def hammer(base_url: str, rounds: int) -> tuple[list[str], dict[tuple[str, str], list[Any]]]:
    """``CLIENTS`` threads, each with its own connection, mixing /search and /ask."""
    errors: list[str] = []
    seen: dict[tuple[str, str], list[Any]] = {}
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            start.wait()
            for r in range(rounds):
                path, body = request_for(i + r)
                try:
                    response = http.post(path, json=body)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"{path}: {exc!r}")
                    continue
                with lock:
                    if response.status_code != 200:
                        errors.append(f"{path}: {response.status_code} {response.text[:200]}")
                    else:
                        key = (path, next(iter(body.values())))
                        seen.setdefault(key, []).append(without_time(response.json()))

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return errors, seen


def check_against_one_client(base_url: str, seen: dict[tuple[str, str], list[Any]]) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as http:
        for (path, text), answers in seen.items():
            body = (
                {"query": text, "top_k": 5} if path == "/search" else {"question": text, "top_k": 3}
            )
            alone = without_time(http.post(path, json=body).json())
            assert all(a == alone for a in answers), (path, text)


def test_sixteen_clients_mixing_search_and_ask_get_no_errors(hash_engine: RagEngine) -> None:
    with live_server(create_app(engine=hash_engine)) as base_url:
        errors, seen = hammer(base_url, rounds=6)
        assert errors == []
        assert sum(len(v) for v in seen.values()) == CLIENTS * 6
        check_against_one_client(base_url, seen)


def test_reads_keep_succeeding_while_documents_are_written(hash_engine: RagEngine) -> None:
    with live_server(create_app(engine=hash_engine)) as base_url:
        writes: list[int] = []

        def writer() -> None:
            with httpx.Client(base_url=base_url, timeout=120) as http:
                for n in range(4):
                    body = {
                        "id": f"live/{n % 2}",
                        "title": f"动态文档{n}",
                        "text": f"第{n}版的内容。",
                    }
                    writes.append(http.post("/documents", json=body).status_code)
                writes.append(http.delete("/documents/live/0").status_code)

        thread = threading.Thread(target=writer)
        thread.start()
        errors, _ = hammer(base_url, rounds=4)
        thread.join(timeout=120)
        assert errors == []
        assert writes == [201, 201, 201, 201, 204]
        with httpx.Client(base_url=base_url) as http:
            assert http.get("/documents/live/1").json()["title"] == "动态文档3"


def test_a_stream_abandoned_by_its_client_stops_being_produced(
    hash_engine: RagEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    produced = 0
    closed = threading.Event()

    def endless(question: str, k: int = 5, mode: Any = None) -> Iterator[StreamEvent]:
        def events() -> Iterator[StreamEvent]:
            nonlocal produced
            try:
                yield StreamEvent("citations")
                while True:
                    produced += 1
                    yield StreamEvent("delta", text="字")
                    time.sleep(0.002)
            finally:
                closed.set()

        return events()

    monkeypatch.setattr(hash_engine, "ask_stream", endless)
    with live_server(create_app(engine=hash_engine)) as base_url:
        with (
            httpx.Client(base_url=base_url, timeout=30) as http,
            http.stream("POST", "/ask/stream", json={"question": "光谷"}) as response,
        ):
            lines = response.iter_lines()
            assert next(lines) == "event: citations"
            deltas = 0
            for line in lines:
                deltas += line == "event: delta"
                if deltas == 3:
                    break
            assert deltas == 3
        # The client hung up; the server must close the generator rather than run it forever.
        assert closed.wait(timeout=30)
        stopped_at = produced
        with httpx.Client(base_url=base_url) as http:
            assert http.get("/healthz").status_code == 200
        assert produced == stopped_at


@pytest.mark.e2e
def test_sixteen_clients_with_the_real_model(e5_index_dir: Path, tmp_path: Path) -> None:
    """The e5 engine, FAISS and jieba under real concurrency give the answers one client gets."""
    import shutil

    index_dir = tmp_path / "index"
    shutil.copytree(e5_index_dir, index_dir)
    engine = RagEngine(Settings(index_dir=index_dir))
    with live_server(create_app(engine=engine)) as base_url:
        errors, seen = hammer(base_url, rounds=4)
        assert errors == []
        check_against_one_client(base_url, seen)
