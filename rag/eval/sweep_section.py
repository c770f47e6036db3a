"""The report's sweep section: one table per sweep and the setting each one favours."""

from __future__ import annotations

from collections.abc import Sequence

from rag.eval.markdown import fmt, table
from rag.eval.runner import EvalResult
from rag.eval.sweeps import SweepRow, favoured


def _sweep_table(rows: Sequence[SweepRow]) -> list[str]:
    if not rows:
        return []
    settings = list(rows[0].setting)
    metrics = list(rows[0].metrics)
    body = [
        [*(f"**{r.setting[s]}**" if r.default else str(r.setting[s]) for s in settings),
         *(fmt(r.metrics[m]) for m in metrics)]
        for r in rows
    ]  # fmt: skip
    return table([*settings, *metrics], body)


def _favoured_line(rows: Sequence[SweepRow], keys: Sequence[str], questions: int) -> list[str]:
    best = favoured(rows, keys, tolerance=1 / questions if questions else 0.0)
    if best is None:
        return []
    setting = ", ".join(f"{k}={v}" for k, v in best.setting.items())
    note = " (the current default)" if best.default else ""
    return [
        f"Favoured by ({', '.join(keys)}, in that order; gaps of up to one question in "
        f"{questions} count as ties, and ties go to the default): **{setting}**{note}.",
        "",
    ]


def sweep_section(result: EvalResult, threshold_figure: str) -> list[str]:
    s = result.sweeps
    assert s is not None
    out = [
        "## Sweeps behind the defaults",
        "",
        "Defaults in bold. Quality only: query vectors are memoised across configurations.",
        "",
    ]
    out += ["### Chunk size and overlap (seed questions, hybrid)", "", *_sweep_table(s.chunking)]
    seeds = sum(q.answerable for q in result.seeds.questions)
    cmrc = len(result.cmrc.questions) if result.cmrc else 0
    out += _favoured_line(s.chunking, ("recall@5", "handled", "mrr"), seeds)
    if s.chunking_cmrc:
        out += ["### Chunk size (CMRC, hybrid retrieval only)", "", *_sweep_table(s.chunking_cmrc)]
        out += _favoured_line(s.chunking_cmrc, ("recall@5", "mrr"), cmrc)
    out += ["### Fusion (seed questions, hybrid)", "", *_sweep_table(s.fusion)]
    out += _favoured_line(s.fusion, ("recall@5", "handled", "mrr"), seeds)
    if s.fusion_cmrc:
        out += ["### Fusion (CMRC, retrieval only)", "", *_sweep_table(s.fusion_cmrc)]
        out += _favoured_line(s.fusion_cmrc, ("recall@5", "mrr"), cmrc)
    out += [
        "### Abstention threshold (seed questions, hybrid)",
        "",
        f"Method: {s.threshold_method}.",
        "",
    ]
    out += _sweep_table(s.threshold)
    out += _favoured_line(
        s.threshold, ("handled", "-false_abstention"), len(result.seeds.questions)
    )
    meeting = [
        str(r.setting["abstain_threshold"])
        for r in s.threshold
        if (r.metrics.get("abstention_accuracy") or 0) >= 0.8
        and (r.metrics.get("false_abstention") or 1) <= 0.05
    ]
    out += [
        "Thresholds meeting both abstention targets (accuracy ≥ 0.80, false abstention ≤ 0.05): "
        + (", ".join(meeting) if meeting else "none")
        + ".",
        "",
        f"![threshold sweep]({threshold_figure})",
        "",
    ]
    return out
