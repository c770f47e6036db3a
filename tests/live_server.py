"""A real ``rag serve`` process on loopback, shared by the integration e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
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


def start_serve(
    index_dir: Path,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    headers: Mapping[str, str] | None = None,
    seconds: float = 180,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``rag serve`` over ``index_dir`` (output appended to ``log``) and return the
    process and its base URL once ``/healthz`` answers; the process is stopped if it fails."""
    port = free_port()
    environment = {**os.environ, "RAG_CORPUS": str(SEEDS), **(env or {})}
    command = [sys.executable, "-m", "rag.cli", "serve", "--index-dir", str(index_dir)]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, headers=dict(headers or {}), timeout=60) as client:
            wait_until_up(process, client, log, seconds)
    except BaseException:
        stop_serve(process)
        raise
    return process, url


def stop_serve(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if the server has not exited within 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def live_server(index_dir: Path, log: Path, token: str | None = TOKEN) -> Iterator[LiveServer]:
    """``rag serve`` over ``index_dir`` until the block ends; with ``token``, every route needs it."""
    env = {"RAG_API_TOKEN": token, "RAG_API_TOKEN_READS": "1"} if token else {}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    process, url = start_serve(index_dir, log, env, headers=headers)
    try:
        yield LiveServer(url, token, log)
    finally:
        stop_serve(process)
