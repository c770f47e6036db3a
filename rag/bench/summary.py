"""The machine-readable result: what ``rag eval --json`` prints."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rag.bench.llm_section import verification_totals
from rag.bench.metrics import percentile
from rag.bench.targets import check_targets

if TYPE_CHECKING:
    from rag.bench.runner import Comparison, EvalResult
    from rag.bench.sweeps import SweepRow


def _rounded(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v, digits) for v in value]
    return value


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    systems: dict[str, dict[str, Any]] = {}
    for name, run in comparison.systems.items():
        systems[name] = {
            **run.scores.flat(),
            "build_seconds": run.build.seconds,
            "chunks": run.build.chunks,
            "chunks_per_second": run.build.chunks_per_second,
            "retrieval_p50_ms": percentile(
                [o.retrieval_ms for o in run.outcomes if o.retrieval_ms is not None], 50
            ),
            "by_type": {t: s.flat() for t, s in run.by_type.items()},
        }
        if name == "llm":
            systems[name]["verification"] = verification_totals(run.outcomes)
    return {
        "questions": len(comparison.questions),
        "skipped": comparison.skipped,
        "systems": systems,
        "hybrid_first_pass_latency_ms": {
            "p50": percentile(comparison.first_pass_ms, 50),
            "p95": percentile(comparison.first_pass_ms, 95),
        },
    }


def _rows(rows: list[SweepRow]) -> list[dict[str, Any]]:
    return [{**r.setting, **r.metrics, "default": r.default} for r in rows]


def result_json(result: EvalResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "command": result.command,
        **comparison_json(result.seeds),
        "cmrc": comparison_json(result.cmrc) if result.cmrc else None,
        "parts": [p.to_json() for p in result.parts],  # train / held-out answer figures
        "speed": {
            "indexing": {
                **asdict(result.indexing),
                "raw_seconds": result.indexing.raw_seconds,
                "indexing_per_second": result.indexing.indexing_per_second,
                "raw_per_second": result.indexing.raw_per_second,
                "ratio": result.indexing.ratio,
            },
            "query_embedding_ms": {
                "p50": percentile(result.query_embedding_ms, 50),
                "p95": percentile(result.query_embedding_ms, 95),
            },
            "search_ms": {
                "p50": percentile(result.search_ms, 50),
                "p95": percentile(result.search_ms, 95),
                "model_p50": percentile(result.search_model_ms, 50),
            },
            "cli_ask_seconds": result.cli_ask_seconds,
            "http": [asdict(h) for h in result.http] if result.http is not None else None,
            "ask_overhead": asdict(result.ask_overhead) if result.ask_overhead else None,
        },
        "sweeps": None,
        "backends": result.backends.to_json() if result.backends else None,
        "targets": [asdict(t) for t in check_targets(result)],
        "environment": {
            **asdict(result.environment),
            "load_average_end": result.load_average_end,
        },
    }
    if result.sweeps:
        s = result.sweeps
        data["sweeps"] = {
            "chunking": _rows(s.chunking),
            "chunking_cmrc": _rows(s.chunking_cmrc),
            "fusion": _rows(s.fusion),
            "fusion_cmrc": _rows(s.fusion_cmrc),
            "threshold": _rows(s.threshold),
            "threshold_method": s.threshold_method,
        }
    return dict(_rounded(data))
