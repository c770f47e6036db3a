"""Answers scored per part: train (what the reader was fitted on) and held-out (never seen).

The seed set and CMRC trial are split by ``rag.bench.splits``; the fresh set (``eval/fresh``:
documents and questions written after the reader, never used in fitting) is held out whole.
Every figure here is labelled with its part; README quotes the held-out ones only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.bench.markdown import fmt, table
from rag.bench.metrics import Outcome, Scores, clean_answer, percentile, score, score_by_type
from rag.bench.questions import Question, QuestionSetError, load_questions
from rag.bench.splits import CMRC_ENGLISH, Split, split_of
from rag.bench.systems import (
    EngineSystem,
    build_engine,
    document_relevance,
    evidence_relevance,
    run_system,
)
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import Embedder

Log = Callable[[str], object]
SET_DOCS = "docs"  # a documents-and-questions set (eval/fresh, eval/train/news): its documents
SET_QUESTIONS = "questions.jsonl"  # and its questions about them


@dataclass(frozen=True)
class PartScores:
    """One part of one question set, scored for the shipped system (hybrid, extractive)."""

    set_name: str
    split: Split
    scores: Scores
    by_type: dict[str, Scores]
    list_complete: float | None  # list questions answered with every item
    near_miss_abstention: float | None  # near-miss questions refused
    answer_chars_p50: float | None  # length of the answers given (markers excluded)
    outcomes: list[Outcome]

    def to_json(self) -> dict[str, object]:
        return {
            "set": self.set_name,
            "split": self.split,
            **self.scores.flat(),
            "list_complete": self.list_complete,
            "near_miss_abstention": self.near_miss_abstention,
            "answer_chars_p50": self.answer_chars_p50,
        }

    @property
    def label(self) -> str:
        return f"{self.set_name} ({self.split})"


def list_complete(outcomes: Sequence[Outcome]) -> float | None:
    """Share of list questions whose answer names every item."""
    lists = [o for o in outcomes if o.question.items]
    if not lists:
        return None
    done = [
        o.answered and all(clean_answer(i) in clean_answer(o.answer) for i in o.question.items)
        for o in lists
    ]
    return sum(done) / len(done)


def part_scores(set_name: str, outcomes: Sequence[Outcome]) -> list[PartScores]:
    """The train and held-out parts of ``outcomes`` (those that have questions)."""
    out = []
    for split in ("train", "held-out"):
        part = [o for o in outcomes if split_of(set_name, o.question) == split]
        if not part:
            continue
        near = [o for o in part if o.question.near_miss]
        said = [len(clean_answer(o.answer)) for o in part if o.answered]
        out.append(
            PartScores(
                set_name,
                split,
                score(part),
                score_by_type(part),
                list_complete(part),
                sum(not o.answered for o in near) / len(near) if near else None,
                percentile(said, 50),
                part,
            )
        )
    return out


def run_docs_set(
    set_name: str, settings: Settings, directory: Path, index_root: Path, embedder: Embedder,
    answer_k: int, say: Log,
) -> list[Outcome]:  # fmt: skip
    """Index a set's documents (``eval/fresh``, ``eval/train/news``) and ask the shipped
    system every one of its questions."""
    say(f"{set_name}: indexing {directory / SET_DOCS}, asking its questions")
    engine, questions = open_docs_set(settings, directory, index_root / set_name, embedder)
    system = EngineSystem("hybrid", engine, "hybrid", answer_k)
    return run_system(system, questions, answer_k, evidence_relevance)


def open_docs_set(
    settings: Settings, directory: Path, index_dir: Path, embedder: Embedder
) -> tuple[RagEngine, list[Question]]:
    """An engine over a set's documents (``directory/docs``, indexed into ``index_dir``) and
    the set's questions about them."""
    questions = load_questions(directory / SET_QUESTIONS)
    corpus = [directory / SET_DOCS]
    docs = settings.model_copy(update={"index_dir": index_dir, "corpus": corpus})
    engine, _ = build_engine(docs, corpus, embedder=embedder)
    return engine, questions


def run_cmrc_english(
    settings: Settings, path: Path, index_dir: Path, embedder: Embedder, answer_k: int, say: Log
) -> list[Outcome]:
    """Ask the English versions of CMRC held-out questions over the CMRC index (built by the
    CMRC run). Written after the reader was fitted, about held-out contexts only: a question
    about a train context is refused, as it could have been tuned on."""
    questions = load_questions(path)
    train = [q.id for q in questions if split_of("cmrc", replace(q, type="cmrc")) != "held-out"]
    if train:
        raise QuestionSetError(
            f"{path}: {len(train)} questions are about CMRC train contexts (first: {train[0]}); "
            "a held-out set may only ask about held-out contexts"
        )
    say(f"{CMRC_ENGLISH}: asking {len(questions)} held-out questions over {index_dir}")
    engine = RagEngine(settings.model_copy(update={"index_dir": index_dir}), embedder=embedder)
    system = EngineSystem("hybrid", engine, "hybrid", answer_k)
    return run_system(system, questions, answer_k, document_relevance)


def held_out_section(parts: Sequence[PartScores]) -> list[str]:
    """The report's first answer section: every figure labelled train or held-out."""
    out = [
        "## Answers: train and held-out parts",
        "",
        "The reader was fitted (`rag fit-reader`) on the **train** parts only; **held-out**",
        "parts were fixed before fitting (`rag.bench.splits`: 40 % of the seed questions and of",
        "CMRC trial contexts by salted hash) or written afterwards (`eval/fresh`, and",
        f"`{CMRC_ENGLISH}`: English versions of CMRC held-out questions; both held out whole).",
        "Train figures are in-sample; quote the held-out ones.",
        "",
    ]
    rows = []
    for p in parts:
        s = p.scores
        rows.append([
            p.label, str(s.questions), fmt(s.recall.get(5)), fmt(s.answer_hit), fmt(s.f1),
            fmt(p.list_complete), fmt(_english(p)), fmt(s.abstention_accuracy),
            fmt(p.near_miss_abstention), fmt(s.false_abstention), fmt(p.answer_chars_p50, 0),
        ])  # fmt: skip
    out += table(
        [
            "set (part)", "questions", "recall@5", "answer_hit / containment", "F1",
            "lists complete", "English answer_hit", "abstention", "near-miss abstention",
            "false abstention", "answer chars p50",
        ],
        rows,
    )  # fmt: skip
    types = sorted({t for p in parts for t in p.by_type})
    out += [
        "",
        "### Held-out parts per question type (answer_hit; abstention for unanswerable)",
        "",
    ]
    rows = []
    for p in parts:
        if p.split != "held-out":
            continue
        cells = []
        for t in types:
            kind = p.by_type.get(t)
            value = None if kind is None else (
                kind.abstention_accuracy if t == "unanswerable" else kind.answer_hit
            )  # fmt: skip
            cells.append("" if kind is None else f"{fmt(value)} ({kind.questions})")
        rows.append([p.label, *cells])
    out += table(["set (part)", *types], rows)
    return [*out, ""]


def _english(p: PartScores) -> float | None:
    s = p.by_type.get("english")
    return s.answer_hit if s else None
