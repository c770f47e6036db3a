"""Latency and throughput of a running ``rag serve`` over HTTP, measured from the client side.

``bench_http`` sends ``requests`` POSTs from ``concurrency`` clients on one event loop, each
with its own keep-alive connection, cycling through ``questions``. The server memoises query
vectors, so a question sent twice is cheaper the second time: the result says how many
requests repeated a question, and honest latency figures keep that at zero.

Run by hand: ``python -m rag.bench.http_bench http://127.0.0.1:8000 --endpoint search``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ENDPOINTS = {"search": ("/search", "query"), "ask": ("/ask", "question")}


def bench_http(
    base_url: str,
    questions: list[str],
    concurrency: int,
    requests: int,
    endpoint: str,
    *,
    top_k: int = 5,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Send ``requests`` requests to ``endpoint`` ("search" or "ask"), ``concurrency`` at a time.

    Returns ``p50_ms``, ``p95_ms``, ``mean_ms``, ``max_ms`` (successful requests),
    ``throughput_rps`` (successes per wall-clock second), ``errors`` (non-2xx answers and
    transport failures), ``error_examples`` (up to 3), and the run's parameters.
    """
    path, field = ENDPOINTS[endpoint.strip("/")]
    if not questions:
        raise ValueError("bench_http needs at least one question")
    if concurrency < 1 or requests < 1:
        raise ValueError("concurrency and requests must be at least 1")
    url = base_url.rstrip("/") + path
    bodies = [{field: questions[n % len(questions)], "top_k": top_k} for n in range(requests)]
    latencies, failures, wall = asyncio.run(_load(url, bodies, concurrency, timeout))
    return {
        "endpoint": path,
        "concurrency": concurrency,
        "requests": requests,
        "repeated_questions": max(0, requests - len(set(questions))),
        **_latency_summary(latencies),
        "throughput_rps": round(len(latencies) / wall, 2) if wall else 0.0,
        "errors": len(failures),
        "error_examples": failures[:3],
        "seconds": round(wall, 2),
    }


async def _load(
    url: str, bodies: list[dict[str, Any]], concurrency: int, timeout: float
) -> tuple[list[float], list[str], float]:
    """``concurrency`` clients on one event loop, each with its own keep-alive connection,
    taking the next body until none is left. One thread: 32 client threads cost the
    machine ~8 ms of CPU per request in GIL handovers, which the server then lacks."""
    import httpx

    queue = iter(bodies)
    latencies: list[float] = []
    failures: list[str] = []

    async def client(http: httpx.AsyncClient) -> None:
        for body in queue:
            started = time.perf_counter()
            try:
                response = await http.post(url, json=body)
                ok = response.is_success
                problem = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - started) * 1000
            if ok:
                latencies.append(elapsed)
            else:
                failures.append(problem)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return latencies, failures, wall


def _latency_summary(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return dict.fromkeys(("p50_ms", "p95_ms", "mean_ms", "max_ms"))
    values = np.asarray(latencies, dtype=np.float64)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "mean_ms": round(float(values.mean()), 2),
        "max_ms": round(float(values.max()), 2),
    }


def process_rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (e.g. the server with its index loaded)."""
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def read_questions(path: Path) -> list[str]:
    """Questions from a JSONL file (the ``question`` field) or a text file (one per line)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".jsonl":
        return [str(json.loads(line)["question"]) for line in lines]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("base_url")
    parser.add_argument("--endpoint", choices=sorted(ENDPOINTS), default="search")
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1])
    parser.add_argument("--requests", type=int, default=None, help="default: one per question")
    parser.add_argument("--pid", type=int, help="also report this server process's RSS")
    args = parser.parse_args(argv)
    questions = read_questions(args.questions)
    for concurrency in args.concurrency:
        result = bench_http(
            args.base_url, questions, concurrency, args.requests or len(questions), args.endpoint
        )
        if args.pid:
            result["server_rss_mb"] = process_rss_mb(args.pid)
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
