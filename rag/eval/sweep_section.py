"""The report's sweep section: one table per sweep and the setting each one favours."""

from __future__ import annotations

from collections.abc import Sequence

from rag.eval.markdown import fmt, table
from rag.eval.runner import EvalResult
from rag.eval.sweeps import SweepRow, favoured, joint


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


def _joint_line(
    seeds: Sequence[SweepRow], cmrc: Sequence[SweepRow], n_seeds: int, n_cmrc: int
) -> list[str]:
    """The setting that handles the most questions of both sets: what the default follows."""
    rows = joint(seeds, cmrc, n_seeds, n_cmrc)
    best = favoured(rows, ("handled", "recall@5", "mrr"), tolerance=1)
    if best is None:
        return []
    setting = ", ".join(f"{k}={v}" for k, v in best.setting.items())
    by = ", ".join(
        f"{'='.join(map(str, r.setting.values()))}: {r.metrics['handled']}" for r in rows
    )
    note = "the current default" if best.default else "**not the current default**"
    return [
        f"**Across both sets** (questions handled right, of {n_seeds + n_cmrc}; a gap of one "
        f"question is a tie, then recall@5, then MRR; ties go to the default): **{setting}** "
        f"({note}). Handled per setting: {by}.",
        "",
    ]


def sweep_section(result: EvalResult, threshold_figure: str) -> list[str]:
    s = result.sweeps
    assert s is not None
    out = [
        "## Sweeps behind the defaults",
        "",
        "Defaults in bold. Quality only: query vectors are memoised across configurations. "
        "Each configuration answers every question; per set, the answers decide first "
        "(*handled*: answered with a gold answer or rightly abstained; CMRC: containment), "
        "retrieval breaks ties. The defaults follow the line *across both sets*.",
        "",
    ]
    out += ["### Chunk size and overlap (seed questions, hybrid)", "", *_sweep_table(s.chunking)]
    seeds = len(result.seeds.questions)  # handled counts every question, abstentions included
    cmrc = len(result.cmrc.questions) if result.cmrc else 0
    out += _favoured_line(s.chunking, ("handled", "recall@5", "mrr"), seeds)
    if s.chunking_cmrc:
        out += ["### Chunk size (CMRC, hybrid)", "", *_sweep_table(s.chunking_cmrc)]
        out += _favoured_line(s.chunking_cmrc, ("answer_hit", "recall@5", "mrr"), cmrc)
        out += _joint_line(s.chunking, s.chunking_cmrc, seeds, cmrc)
    out += ["### Fusion (seed questions, hybrid)", "", *_sweep_table(s.fusion)]
    out += _favoured_line(s.fusion, ("handled", "recall@5", "mrr"), seeds)
    if s.fusion_cmrc:
        out += ["### Fusion (CMRC, hybrid)", "", *_sweep_table(s.fusion_cmrc)]
        out += _favoured_line(s.fusion_cmrc, ("answer_hit", "recall@5", "mrr"), cmrc)
        out += _joint_line(s.fusion, s.fusion_cmrc, seeds, cmrc)
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
