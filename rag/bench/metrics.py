"""Retrieval, answer and abstention metrics over per-question outcomes.

Relevance is binary with one relevant passage per question: a question's rank is the
position of the first retrieved text that contains its evidence (or, for CMRC, comes from
its gold context). Recall@k, MRR and nDCG@10 follow from that single rank.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.bench.questions import Question
from rag.text.chars import HAN_EXTENDED
from rag.text.normalize import half_width

RECALL_KS = tuple(range(1, 11))
_MARKER = re.compile(r"\[\d+\]")
_WS = re.compile(r"\s+")
# CMRC 2018's mixed segmentation: each CJK character is a token, Latin words and numbers
# (with decimals) stay whole, anything else is a token of its own.
_SEGMENT = re.compile(rf"[{HAN_EXTENDED}]|[0-9a-z]+(?:\.[0-9]+)*|\S")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one system did with one question."""

    question: Question
    rank: int | None  # 1-based rank of the first relevant retrieved text; None if not found
    answer: str
    answered: bool
    latency_ms: float
    support: float | None = None
    retrieval_ms: float | None = None  # engine systems: the search alone, without the model
    details: Mapping[str, Any] = field(default_factory=dict)  # the answerer's diagnostics


@dataclass(frozen=True)
class Scores:
    """Aggregate metrics; answer metrics cover answerable questions, abstention the rest."""

    questions: int
    answerable: int
    unanswerable: int
    recall: dict[int, float | None]
    mrr: float | None
    ndcg10: float | None
    answer_hit: float | None
    f1: float | None
    abstention_accuracy: float | None
    false_abstention: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None

    def flat(self) -> dict[str, float | int | None]:
        """The headline metrics as one flat mapping (the ``--json`` per-system object)."""
        return {
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "recall@1": self.recall.get(1),
            "recall@5": self.recall.get(5),
            "recall@10": self.recall.get(10),
            "mrr": self.mrr,
            "ndcg@10": self.ndcg10,
            "answer_hit": self.answer_hit,
            "f1": self.f1,
            "abstention_accuracy": self.abstention_accuracy,
            "false_abstention": self.false_abstention,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
        }


def first_relevant(flags: Iterable[bool]) -> int | None:
    """1-based position of the first ``True``, or ``None``."""
    return next((i for i, flag in enumerate(flags, start=1) if flag), None)


def recall_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank is not None else 0.0


def ndcg_at(rank: int | None, k: int = 10) -> float:
    """nDCG@k with a single relevant item: the ideal DCG is 1 (relevant item at rank 1)."""
    return 1.0 / math.log2(rank + 1) if rank is not None and rank <= k else 0.0


def clean_answer(text: str) -> str:
    """Answer text without citation markers like ``[1]``, half width, lower case."""
    return half_width(_MARKER.sub("", text)).lower()


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """Whether a gold answer occurs in ``text`` (whitespace and markers ignored)."""
    hay = _WS.sub("", clean_answer(text))
    return any(
        g_clean and g_clean in hay for g_clean in (_WS.sub("", clean_answer(g)) for g in golds)
    )


def segment(text: str) -> list[str]:
    """CMRC-style tokens of ``text``, punctuation and whitespace dropped."""
    return [t for t in _SEGMENT.findall(clean_answer(text)) if not _is_punctuation(t)]


def _is_punctuation(token: str) -> bool:
    # "%" is punctuation to Unicode but part of an answer like "12.5%".
    return len(token) == 1 and token != "%" and unicodedata.category(token).startswith("P")


def _longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common contiguous run of tokens (CMRC's ``find_lcs``)."""
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def char_f1(prediction: str, golds: Sequence[str]) -> float:
    """CMRC 2018 F1: longest common token run against each gold answer, best gold wins."""
    pred = segment(prediction)
    best = 0.0
    for gold in golds:
        ref = segment(gold)
        common = _longest_common_run(pred, ref)
        if common == 0:
            continue
        precision, recall = common / len(pred), common / len(ref)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def _mean(values: Sequence[float]) -> float | None:
    return float(sum(values) / len(values)) if values else None


def score(outcomes: Sequence[Outcome]) -> Scores:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    latencies = [o.latency_ms for o in outcomes]
    return Scores(
        questions=len(outcomes),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        recall={k: _mean([recall_at(o.rank, k) for o in answerable]) for k in RECALL_KS},
        mrr=_mean([reciprocal_rank(o.rank) for o in answerable]),
        ndcg10=_mean([ndcg_at(o.rank, 10) for o in answerable]),
        answer_hit=_mean(
            [
                float(o.answered and contains_answer(o.answer, o.question.answers))
                for o in answerable
            ]
        ),
        f1=_mean(
            [char_f1(o.answer, o.question.answers) if o.answered else 0.0 for o in answerable]
        ),
        abstention_accuracy=_mean([float(not o.answered) for o in unanswerable]),
        false_abstention=_mean([float(not o.answered) for o in answerable]),
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
    )


def score_by_type(outcomes: Sequence[Outcome]) -> dict[str, Scores]:
    types = dict.fromkeys(o.question.type for o in outcomes)
    return {t: score([o for o in outcomes if o.question.type == t]) for t in types}
