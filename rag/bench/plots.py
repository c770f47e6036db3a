"""PNG figures for the report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.bench.metrics import RECALL_KS

if TYPE_CHECKING:
    from rag.bench.runner import Comparison
    from rag.bench.sweeps import SweepRow


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def recall_curves(comparison: Comparison, path: Path, title: str) -> Path:
    """Recall@k for k = 1..10, one line per system."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for name, run in comparison.systems.items():
        values = [run.scores.recall.get(k) or 0.0 for k in RECALL_KS]
        ax.plot(RECALL_KS, values, marker="o", markersize=3, label=name)
    ax.set_xlabel("k (retrieved texts)")
    ax.set_ylabel("recall@k")
    ax.set_xticks(list(RECALL_KS))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def latency_distributions(series: Mapping[str, Sequence[float]], path: Path, title: str) -> Path:
    """Per-question latency of each system as box plots on a log scale."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    names = list(series)
    ax.boxplot([list(series[n]) for n in names], showfliers=True, whis=(5, 95))
    ax.set_xticks(range(1, len(names) + 1), names, rotation=15)
    ax.set_yscale("log")
    ax.set_ylabel("ms per question (log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def threshold_curve(rows: Sequence[SweepRow], path: Path) -> Path:
    """Abstention accuracy, false abstention and answer_hit against the threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    xs = [float(r.setting["abstain_threshold"]) for r in rows]
    for metric in ("abstention_accuracy", "false_abstention", "answer_hit", "handled"):
        ax.plot(
            xs, [r.metrics.get(metric) or 0.0 for r in rows], marker="o", markersize=3, label=metric
        )
    for r in rows:
        if r.default:
            ax.axvline(float(r.setting["abstain_threshold"]), color="grey", linestyle=":")
    ax.set_xlabel("abstain_threshold (dotted: configured)")
    ax.set_ylim(0, 1.02)
    ax.set_title("Abstention threshold sweep (seed questions, hybrid)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
