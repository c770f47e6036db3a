"""The issue's targets for the shipped hybrid system, checked against a result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.bench.metrics import percentile, score

if TYPE_CHECKING:
    from rag.bench.runner import EvalResult


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    value: float | None
    met: bool | None  # None: not measured in this run


def _check(name: str, goal: str, value: float | None, ok: Callable[[float], bool]) -> Target:
    return Target(name, goal, value, None if value is None else ok(value))


def check_targets(result: EvalResult) -> list[Target]:
    hybrid = result.seeds.systems["hybrid"].scores
    peer = result.seeds.systems["langchain"].scores
    targets = _held_out_targets(result)
    targets += [
        _check("seeds recall@5 (all)", "≥ 0.95", hybrid.recall.get(5), lambda v: v >= 0.95),
        _check("seeds answer_hit (all)", "≥ 0.85", hybrid.answer_hit, lambda v: v >= 0.85),
        _check(
            "seeds abstention accuracy (all)",
            "≥ 0.80",
            hybrid.abstention_accuracy,
            lambda v: v >= 0.80,
        ),
        _check(
            "seeds false abstention (all)", "≤ 0.05", hybrid.false_abstention, lambda v: v <= 0.05
        ),
    ]
    cmrc = result.cmrc.systems["hybrid"].scores if result.cmrc else None
    targets += [
        _check(
            "CMRC recall@5 (all)",
            "≥ 0.98",
            cmrc.recall.get(5) if cmrc else None,
            lambda v: v >= 0.98,
        ),
        _check(
            "CMRC containment (all)",
            "≥ 0.75",
            cmrc.answer_hit if cmrc else None,
            lambda v: v >= 0.75,
        ),
        _check("CMRC character F1 (all)", "reported", cmrc.f1 if cmrc else None, lambda v: True),
    ]
    targets += [
        _check(
            "recall@5 minus peer's",
            "> 0",
            _difference(hybrid.recall.get(5), peer.recall.get(5)),
            lambda v: v > 0,
        ),
        _check(
            "answer_hit minus peer's",
            "> 0",
            _difference(hybrid.answer_hit, peer.answer_hit),
            lambda v: v > 0,
        ),
        _check(
            "peer's query p50 / hybrid's",
            "≥ 2",
            _ratio(peer.latency_p50_ms, hybrid.latency_p50_ms),
            lambda v: v >= 2,
        ),
        _check(
            "indexing / raw embedder throughput",
            "≥ 0.8",
            result.indexing.ratio,
            lambda v: v >= 0.8,
        ),
        _check(
            "in-process search p50, ms",
            "≤ 30",
            percentile(result.search_ms, 50),
            lambda v: v <= 30,
        ),
        _check(
            "`rag ask` on a built index, slowest run, s",
            "< 3",
            max(result.cli_ask_seconds) if result.cli_ask_seconds else None,
            lambda v: v < 3,
        ),
        _check("HTTP /search p50 at concurrency 1, ms", "≤ 30", _http_p50(result, "search"), lambda v: v <= 30),
        _check("HTTP /ask p50 at concurrency 1, ms", "≤ 60", _http_p50(result, "ask"), lambda v: v <= 60),
        _check(
            "HTTP /ask p50 minus /search p50, ms",
            "≤ 5",
            result.ask_overhead.difference_p50_ms
            if result.ask_overhead
            else _difference(_http_p50(result, "ask"), _http_p50(result, "search")),
            lambda v: v <= 5,
        ),
    ]  # fmt: skip
    return targets


def _held_out_targets(result: EvalResult) -> list[Target]:
    """Issue 12's targets, on held-out parts only: the seed set's and the fresh set's held-out
    questions pooled ("own sets"), and CMRC trial's held-out contexts."""
    from rag.bench.held_out import list_complete

    own = [
        o
        for p in result.parts
        if p.split == "held-out" and p.set_name in ("seeds", "fresh")
        for o in p.outcomes
    ]
    targets: list[Target] = []
    if own:
        s = score(own)
        english = score([o for o in own if o.question.type == "english"])
        targets += [
            _check("held-out own sets answer_hit", "≥ 0.92", s.answer_hit, lambda v: v >= 0.92),
            _check("held-out lists complete", "≥ 0.90", list_complete(own), lambda v: v >= 0.90),
            _check("held-out English answer_hit", "≥ 0.80", english.answer_hit, lambda v: v >= 0.8),
            _check("held-out abstention", "≥ 0.90", s.abstention_accuracy, lambda v: v >= 0.90),
            _check("held-out false abstention", "≤ 0.03", s.false_abstention, lambda v: v <= 0.03),
        ]
    cmrc = next((p for p in result.parts if p.label == "cmrc (held-out)"), None)
    if cmrc:
        targets += [
            _check(
                "held-out CMRC containment", "≥ 0.88", cmrc.scores.answer_hit, lambda v: v >= 0.88
            ),
            _check("held-out CMRC F1", "≥ 0.60", cmrc.scores.f1, lambda v: v >= 0.60),
            _check(
                "held-out CMRC answer chars p50", "reported", cmrc.answer_chars_p50, lambda v: True
            ),
        ]
    return targets


def _http_p50(result: EvalResult, endpoint: str) -> float | None:
    for http in result.http or []:
        for level in http.levels:
            if http.endpoint == endpoint and level.get("concurrency") == 1:
                value = level.get("p50_ms")
                return float(value) if value is not None else None
    return None


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b
