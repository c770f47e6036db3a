"""Parameter sweeps behind the defaults: chunking, fusion and the abstention threshold.

Sweeps re-embed once per chunk size (the embedding cache keeps that to the first run) and
memoise query vectors across configurations, so they report quality only, never latency.
Every configuration is judged on its answers, on the seed questions and on CMRC: what a
user gets is the answer, and a retrieval gain that answers fewer questions is no gain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.bench.metrics import Outcome, contains_answer, score
from rag.bench.questions import Question
from rag.bench.systems import (
    EngineSystem,
    Relevance,
    build_engine,
    document_relevance,
    evidence_relevance,
    run_system,
)
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import Embedder, make_embedder

CHUNK_SIZES = (100, 150, 200, 300, 400)
CHUNK_OVERLAPS = (0, 1)
CMRC_CHUNK_SIZES = (100, 200, 300, 400)
DENSE_WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)
THRESHOLDS = tuple(round(0.1 + 0.05 * i, 2) for i in range(13))
ANSWER_METRICS = ("recall@1", "recall@5", "mrr", "answer_hit", "f1", "false_abstention")
CMRC_METRICS = ("recall@1", "recall@5", "recall@10", "mrr", "answer_hit", "f1")


@dataclass(frozen=True)
class SweepRow:
    setting: dict[str, Any]
    metrics: dict[str, float | int | None]
    default: bool = False
    right: tuple[bool, ...] = ()  # per question, in order: handled right (for paired tests)


@dataclass
class Sweeps:
    chunking: list[SweepRow] = field(default_factory=list)
    chunking_cmrc: list[SweepRow] = field(default_factory=list)
    fusion: list[SweepRow] = field(default_factory=list)
    fusion_cmrc: list[SweepRow] = field(default_factory=list)
    threshold: list[SweepRow] = field(default_factory=list)
    threshold_method: str = ""


class MemoEmbedder:
    """An :class:`Embedder` that remembers query vectors across engines (sweeps only)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._queries: dict[str, np.ndarray] = {}

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]


def run_sweeps(
    settings: Settings,
    index_root: Path,
    questions: Sequence[Question],
    hybrid: Sequence[Outcome],
    cmrc_questions: Sequence[Question],
    cmrc_dir: Path | None,
    answer_k: int,
    k: int,
    say: Callable[[str], object],
) -> Sweeps:
    """Every sweep; ``hybrid`` is the default system's outcomes from the main comparison."""
    embedder = MemoEmbedder(make_embedder(settings.embedder))
    seeds = settings.model_copy(update={"index_dir": index_root / "seeds"})
    sweeps = Sweeps()
    seeds_run = (questions, evidence_relevance)
    cmrc_run = (cmrc_questions, document_relevance)

    def row(
        changed: dict[str, Any],
        engine: RagEngine,
        run: tuple[Sequence[Question], Relevance],
        names: Sequence[str],
        extra: dict[str, Any] | None = None,
    ) -> SweepRow:
        """One configuration's answers to one question set, as a row of its sweep."""
        outcomes = _answers(engine, run[0], answer_k, k, run[1])
        metrics = {**(extra or {}), **_pick(outcomes, names)}
        return SweepRow(changed, metrics, _is_default(settings, changed), handled_flags(outcomes))

    for size in CHUNK_SIZES:
        for overlap in CHUNK_OVERLAPS:
            say(f"sweep: chunk_size={size} chunk_overlap={overlap}")
            changed: dict[str, Any] = {"chunk_size": size, "chunk_overlap": overlap}
            s = settings.model_copy(update={**changed, "index_dir": index_root / "sweep"})
            engine, build = build_engine(s, settings.corpus, embedder)
            sweeps.chunking.append(
                row(changed, engine, seeds_run, ANSWER_METRICS, {"chunks": build.chunks})
            )
    for fusion in ("rrf", "weighted"):
        for weight in DENSE_WEIGHTS:
            changed = {"fusion": fusion, "dense_weight": weight}
            say(f"sweep: fusion={fusion} dense_weight={weight}")
            engine = RagEngine(seeds.model_copy(update=changed), embedder=embedder)
            sweeps.fusion.append(row(changed, engine, seeds_run, ANSWER_METRICS))
            if cmrc_dir is not None:
                s = settings.model_copy(update={**changed, "index_dir": cmrc_dir})
                engine = RagEngine(s, embedder=embedder)
                sweeps.fusion_cmrc.append(row(changed, engine, cmrc_run, CMRC_METRICS))
    if cmrc_dir is not None:
        corpus = [index_root / "cmrc-corpus.jsonl"]
        for size in CMRC_CHUNK_SIZES:
            say(f"sweep: CMRC chunk_size={size}")
            changed = {"chunk_size": size}
            # The CMRC index directory's embedding cache already holds the default chunks.
            s = settings.model_copy(update={**changed, "index_dir": cmrc_dir, "corpus": corpus})
            engine, build = build_engine(s, corpus, embedder)
            sweeps.chunking_cmrc.append(
                row(changed, engine, cmrc_run, CMRC_METRICS, {"chunks": build.chunks})
            )
        # Leave the CMRC index as the main run built it, so the next run starts from there.
        build_engine(
            settings.model_copy(update={"index_dir": cmrc_dir, "corpus": corpus}), corpus, embedder
        )
    say("sweep: abstention threshold")
    sweeps.threshold, sweeps.threshold_method = threshold_sweep(
        seeds, embedder, questions, hybrid, answer_k
    )
    return sweeps


def _is_default(settings: Settings, changed: dict[str, Any]) -> bool:
    return all(getattr(settings, name) == value for name, value in changed.items())


def _answers(
    engine: RagEngine, questions: Sequence[Question], answer_k: int, k: int, relevant: Relevance
) -> list[Outcome]:
    return run_system(EngineSystem("hybrid", engine, "hybrid", answer_k), questions, k, relevant)


def _pick(outcomes: Sequence[Outcome], names: Sequence[str]) -> dict[str, float | int | None]:
    flat = score(outcomes).flat()
    picked = {name: flat[name] for name in names}
    if "answer_hit" in names:
        if any(not o.question.answerable for o in outcomes):
            picked["abstention_accuracy"] = flat["abstention_accuracy"]
        picked["handled"] = handled(outcomes)
    return picked


def handled_flags(outcomes: Sequence[Outcome]) -> tuple[bool, ...]:
    """Per question, whether it was handled right: answered with a gold answer, or rightly
    abstained."""
    return tuple(
        (o.answered and contains_answer(o.answer, o.question.answers))
        if o.question.answerable
        else not o.answered
        for o in outcomes
    )


def handled(outcomes: Sequence[Outcome]) -> float:
    """Share of questions handled right."""
    flags = handled_flags(outcomes)
    return sum(flags) / len(flags) if flags else 0.0


def threshold_sweep(
    settings: Settings,
    embedder: Embedder,
    questions: Sequence[Question],
    hybrid: Sequence[Outcome],
    answer_k: int,
) -> tuple[list[SweepRow], str]:
    """Abstention at each threshold, from one answerer pass that never abstains.

    The answerer compares the best sentence's ``support`` with the threshold only at the
    end, so an answer at threshold ``t`` is the never-abstaining answer when its support is
    at least ``t``. That equivalence is checked against the main run at the configured
    threshold; if it fails, the answerer is re-run at every threshold instead.
    """
    from rag.answer.reader.model import abstain_threshold

    default = abstain_threshold(settings.abstain_threshold)
    thresholds = sorted({*THRESHOLDS, default})
    open_engine = RagEngine(
        settings.model_copy(update={"abstain_threshold": 0.0}), embedder=embedder
    )
    free = [open_engine.ask(q.question, answer_k, mode="extractive") for q in questions]
    derived_at = {
        t: [
            Outcome(q, o.rank, a.answer, a.answered and a.support >= t, 0.0, a.support)
            for q, o, a in zip(questions, hybrid, free, strict=True)
        ]
        for t in thresholds
    }
    agree = sum(
        d.answered == o.answered and (not o.answered or d.answer == o.answer)
        for d, o in zip(derived_at[default], hybrid, strict=True)
    )
    if agree == len(hybrid):
        method = (
            f"derived from `Answer.support` of one never-abstaining answerer pass; checked "
            f"against the main run at threshold {default}: {agree}/{len(hybrid)} decisions agree"
        )
        at = derived_at
    else:
        method = (
            f"answerer re-run at each threshold (deriving from `Answer.support` disagreed with "
            f"the main run on {len(hybrid) - agree}/{len(hybrid)} questions)"
        )
        at = {}
        for t in thresholds:
            engine = RagEngine(
                settings.model_copy(update={"abstain_threshold": t}), embedder=embedder
            )
            at[t] = [
                Outcome(q, o.rank, a.answer, a.answered, 0.0, a.support)
                for q, o in zip(questions, hybrid, strict=True)
                for a in [engine.ask(q.question, answer_k, mode="extractive")]
            ]
    metrics = ("answer_hit", "f1", "false_abstention")
    rows = [
        SweepRow({"abstain_threshold": t}, _pick(at[t], metrics), t == default) for t in thresholds
    ]
    return rows, method


def joint(
    seeds: Sequence[SweepRow], cmrc: Sequence[SweepRow], n_seeds: int, n_cmrc: int
) -> list[SweepRow]:
    """One row per setting swept on both sets: questions handled right in all (seed answers
    and right abstentions, CMRC answers), and recall@5 and MRR averaged over the questions.

    A CMRC row is matched with the seed row that has its settings and the seed default's
    values for the rest (a CMRC chunk size with the default overlap)."""
    default = next((r.setting for r in seeds if r.default), {})
    n = n_seeds + n_cmrc
    out = []
    for c in cmrc:
        s = next((r for r in seeds if r.setting == {**default, **c.setting}), None)
        if s is None or not n:
            continue
        metrics: dict[str, float | int | None] = {
            "handled": _count(s, "handled", n_seeds) + _count(c, "answer_hit", n_cmrc)
        }
        for key in ("recall@5", "mrr"):
            a, b = s.metrics.get(key), c.metrics.get(key)
            metrics[key] = None if a is None or b is None else (a * n_seeds + b * n_cmrc) / n
        out.append(SweepRow(c.setting, metrics, c.default, s.right + c.right))
    return out


def sign_test(a: Sequence[bool], b: Sequence[bool]) -> tuple[int, int, float]:
    """Paired two-sided sign test of ``a`` against ``b`` (per-question successes, same order):
    questions only ``a`` got right, only ``b`` got right, and the p-value of that split."""
    wins = sum(x and not y for x, y in zip(a, b, strict=True))
    losses = sum(y and not x for x, y in zip(a, b, strict=True))
    n = wins + losses
    if n == 0:
        return 0, 0, 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return wins, losses, min(1.0, 2 * tail)


def _count(row: SweepRow, key: str, n: int) -> int:
    value = row.metrics.get(key)
    return round(float(value) * n) if value is not None else 0


def favoured(
    rows: Sequence[SweepRow], keys: Sequence[str], tolerance: float = 0.0
) -> SweepRow | None:
    """The row best on ``keys`` in order; ``-metric`` is minimised.

    Rows within ``tolerance`` of the best on a key stay tied for the next key (a gap of one
    question is noise, not a reason to move a default); a tie left at the end goes to the
    default, else to the first row.
    """
    tied = list(rows)
    for key in keys:
        sign = -1.0 if key.startswith("-") else 1.0

        def value(row: SweepRow, key: str = key, sign: float = sign) -> float:
            v = row.metrics.get(key.lstrip("-"))
            return sign * float(v) if v is not None else float("-inf")

        if not tied:
            return None
        best = max(value(r) for r in tied)
        tied = [r for r in tied if value(r) >= best - tolerance - 1e-9]
    return next((r for r in tied if r.default), tied[0] if tied else None)
