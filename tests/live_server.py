"""A real ``rag serve`` process on loopback, shared by the integration e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
TOKEN = "e2e-secret-token"


@dataclass(frozen=True)
class LiveServer:
    url: str
    token: str | None
    log: Path

    def client(self, token: bool = True) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if token and self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(
    process: subprocess.Popen[bytes], client: httpx.Client, log: Path, seconds: float = 180
) -> None:
    """Return once ``/healthz`` answers 200; fail with the server's log if it exits first."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        assert time.monotonic() < deadline, "server not up in time"
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)


@contextmanager
def live_server(index_dir: Path, log: Path, token: str | None = TOKEN) -> Iterator[LiveServer]:
    """``rag serve`` over ``index_dir`` until the block ends; with ``token``, every route needs it."""
    port = free_port()
    env = {**os.environ, "RAG_CORPUS": str(SEEDS)}
    if token:
        env |= {"RAG_API_TOKEN": token, "RAG_API_TOKEN_READS": "1"}
    command = [sys.executable, "-m", "rag.cli", "serve", "--index-dir", str(index_dir)]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = LiveServer(f"http://127.0.0.1:{port}", token, log)
    try:
        with server.client() as client:
            wait_until_up(process, client, log)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
