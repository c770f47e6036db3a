"""The hand-written question set: loading, and the checks that keep it honest."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, get_args

from rag.errors import RagError
from rag.ingest.documents import Article

QuestionType = Literal[
    "fact", "paraphrase", "traditional", "english", "unanswerable", "cmrc", "list", "reason"
]
SEED_TYPES: tuple[QuestionType, ...] = (
    "fact",
    "paraphrase",
    "traditional",
    "english",
    "unanswerable",
)


class QuestionSetError(RagError):
    """A question file is missing, malformed or inconsistent with the corpus."""


@dataclass(frozen=True, slots=True)
class Question:
    """One benchmark question.

    ``evidence`` is a verbatim substring of a paragraph of ``doc_id`` that supports the
    answer; a retrieved text is relevant when it contains it. Questions without evidence
    (CMRC) are judged relevant by ``doc_id`` instead.
    """

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: str
    doc_id: str | None
    type: QuestionType
    near_miss: bool = False
    items: tuple[str, ...] = ()  # list questions: every item a complete answer names

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file; a malformed line is an error naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QuestionSetError(f"{path}: cannot read ({exc.strerror})") from exc
    questions = [
        _parse(line, f"{path}:{n}")
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not questions:
        raise QuestionSetError(f"{path}: no questions")
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise QuestionSetError(f"{path}: duplicate question id {q.id!r}")
        seen.add(q.id)
    return questions


def _parse(line: str, where: str) -> Question:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QuestionSetError(f"{where}: invalid JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise QuestionSetError(f"{where}: expected a JSON object")
    qtype = record.get("type")
    if qtype not in get_args(QuestionType):
        raise QuestionSetError(f"{where}: unknown type {qtype!r}")
    answers = record.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise QuestionSetError(f'{where}: "answers" must be a list of strings')
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QuestionSetError(f'{where}: missing "question"')
    doc_id = record.get("doc_id", record.get("doc"))
    items = record.get("items", [])
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise QuestionSetError(f'{where}: "items" must be a list of strings')
    return Question(
        id=str(record.get("id", where)),
        question=question,
        answers=tuple(answers),
        evidence=str(record.get("evidence") or ""),
        doc_id=str(doc_id) if doc_id is not None else None,
        type=cast(QuestionType, qtype),
        near_miss=bool(record.get("near_miss", False)),
        items=tuple(items),
    )


def check_questions(questions: Sequence[Question], articles: Iterable[Article]) -> list[str]:
    """Problems that would make the benchmark measure the question set instead of the system.

    Every answerable question needs gold answers inside its evidence, and the evidence must
    be verbatim in a paragraph of its article; an unanswerable one must carry no answer.
    """
    by_id = {a.doc_id: a for a in articles}
    problems: list[str] = []
    for q in questions:
        if not q.answerable:
            if q.answers or q.evidence:
                problems.append(f"{q.id}: unanswerable but has answers or evidence")
            if q.doc_id is not None and q.doc_id not in by_id:
                problems.append(f"{q.id}: unknown doc_id {q.doc_id!r}")
            continue
        article = by_id.get(q.doc_id or "")
        if article is None:
            problems.append(f"{q.id}: unknown doc_id {q.doc_id!r}")
            continue
        if not q.answers:
            problems.append(f"{q.id}: answerable but has no gold answer")
        if not q.evidence:
            problems.append(f"{q.id}: answerable but has no evidence")
        elif not any(q.evidence in p.text for p in article.paragraphs):
            problems.append(f"{q.id}: evidence is not verbatim in a paragraph of {q.doc_id}")
        problems.extend(
            f"{q.id}: answer {a!r} is not inside the evidence"
            for a in q.answers
            if a not in q.evidence
        )
    return problems
