"""What verification did to the LLM's answers, when `rag eval` asked one (RAG_LLM_BASE_URL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.bench.markdown import table
from rag.bench.metrics import Outcome

if TYPE_CHECKING:
    from rag.bench.runner import EvalResult

SENTENCES = ("kept", "flagged", "dropped", "markers_removed")
# How each LLM answer ended (rag.answer.llm.answerer.Outcome): its own verified text, "资料中未找到", the
# extractive fallback because nothing it said was supported, or because the call failed.
ENDINGS = ("answered", "not_found", "unsupported", "error", "no_sources")


def verification_totals(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Sentences verification kept, flagged and dropped, and how the answers ended."""
    totals: Counter[str] = Counter({k: 0 for k in (*SENTENCES, *ENDINGS)})
    for o in outcomes:
        llm = o.details.get("llm") or {}
        totals[str(llm.get("outcome", "error"))] += 1
        totals.update(o.details.get("verification") or {})
    return dict(totals)


def llm_section(result: EvalResult) -> list[str]:
    comparisons = [("seed questions", result.seeds), ("CMRC", result.cmrc)]
    rows = []
    for label, c in comparisons:
        if c is not None and "llm" in c.systems:
            t = verification_totals(c.systems["llm"].outcomes)
            rows.append([label, *(t[k] for k in (*SENTENCES, *ENDINGS))])
    if not rows:
        return []
    return [
        "## LLM answers: verification",
        "",
        "The system `llm` is hybrid retrieval with the configured LLM (`RAG_LLM_BASE_URL`) "
        "answering; every sentence of its answers was verified against the sources it cites. "
        "Sentences: kept, flagged (kept with a warning), dropped; markers naming no given "
        "source removed. Answers: the model's verified text, its 资料中未找到, or the "
        "extractive fallback (nothing supported, or the call failed).",
        "",
        *table(
            ["questions", "kept", "flagged", "dropped", "markers removed", "answered",
             "not found", "fallback: unsupported", "fallback: error", "no sources"],
            rows,
        ),
    ]  # fmt: skip
