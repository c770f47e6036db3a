"""The report's sweep section: one table per sweep and the setting each one favours."""

from __future__ import annotations

from collections.abc import Sequence

from rag.bench.markdown import fmt, table
from rag.bench.runner import EvalResult
from rag.bench.sweeps import SweepRow, favoured, joint, sign_test

# A default moves only for a gain this unlikely under "both settings are as good".
SIGNIFICANCE = 0.05


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


def _setting(row: SweepRow) -> str:
    return ", ".join(f"{k}={v}" for k, v in row.setting.items())


def _favoured_line(rows: Sequence[SweepRow], keys: Sequence[str], questions: int) -> list[str]:
    best = favoured(rows, keys, tolerance=1 / questions if questions else 0.0)
    if best is None:
        return []
    setting = _setting(best)
    note = " (the current default)" if best.default else ""
    return [
        f"Favoured by ({', '.join(keys)}, in that order; gaps of up to one question in "
        f"{questions} count as ties, and ties go to the default): **{setting}**{note}.",
        "",
    ]


def _joint_line(
    seeds: Sequence[SweepRow], cmrc: Sequence[SweepRow], n_seeds: int, n_cmrc: int
) -> list[str]:
    """The setting the default follows: the one that handles the most questions of both
    sets, if it handles significantly more than the default does (paired sign test)."""
    rows = joint(seeds, cmrc, n_seeds, n_cmrc)
    best = favoured(rows, ("handled", "recall@5", "mrr"))
    default = next((r for r in rows if r.default), None)
    if best is None or default is None:
        return []
    counts = ", ".join(
        f"{'='.join(map(str, r.setting.values()))}: {r.metrics['handled']}" for r in rows
    )
    out = f"**Across both sets** (questions handled right, of {n_seeds + n_cmrc}: {counts}): "
    if best is default:
        out += f"the most with **{_setting(default)}**, the current default."
    else:
        wins, losses, p = sign_test(best.right, default.right)
        verdict = (
            f"significant: **the default should be {_setting(best)}**"
            if p < SIGNIFICANCE
            else f"not significant: the default stays **{_setting(default)}**"
        )
        out += (
            f"the most with {_setting(best)}; against the default {_setting(default)} it handles {wins} "
            f"questions the default misses and misses {losses} the default handles (paired sign "
            f"test p = {p:.2f}), {verdict}."
        )
    return [out, ""]


def sweep_section(result: EvalResult, threshold_figure: str) -> list[str]:
    s = result.sweeps
    assert s is not None
    out = [
        "## Sweeps behind the defaults",
        "",
        "Defaults in bold. Quality only: query vectors are memoised across configurations. "
        "Each configuration answers every question; per set, the answers decide first "
        "(*handled*: answered with a gold answer or rightly abstained; CMRC: containment), "
        "retrieval breaks ties. The defaults follow the line *across both sets*: the setting "
        "that handles the most questions of both sets, where it beats the current default by a "
        f"paired sign test at p < {SIGNIFICANCE}.",
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
