"""The hand-written question set really is grounded in the seeds, and covers them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rag.bench.cmrc import load_cmrc
from rag.bench.questions import (
    SEED_TYPES,
    Question,
    QuestionSetError,
    check_questions,
    load_questions,
)
from rag.ingest.corpus import load_corpus
from rag.ingest.documents import Article

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return load_corpus([ROOT / "seeds"])


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_questions(QUESTIONS)


def test_every_answer_and_evidence_occurs_in_the_seeds(
    questions: list[Question], articles: list[Article]
) -> None:
    assert check_questions(questions, articles) == []
    by_id = {a.doc_id: a for a in articles}
    for q in questions:
        if not q.answerable:
            continue
        assert q.doc_id is not None
        paragraphs = [p.text for p in by_id[q.doc_id].paragraphs]
        assert any(q.evidence in text for text in paragraphs), q.id
        assert q.answers and all(a in q.evidence for a in q.answers), q.id


def test_size_and_types(questions: list[Question]) -> None:
    assert len(questions) >= 150
    counts = Counter(q.type for q in questions)
    assert set(counts) == set(SEED_TYPES)
    assert all(counts[t] >= 15 for t in SEED_TYPES), counts
    unanswerable = [q for q in questions if not q.answerable]
    assert len(unanswerable) >= 20
    assert sum(q.near_miss for q in unanswerable) * 2 >= len(unanswerable)
    # A near miss names something from the corpus, so it points at the article it mimics.
    assert all(q.doc_id for q in unanswerable if q.near_miss)


def test_every_article_is_represented(questions: list[Question], articles: list[Article]) -> None:
    asked = {q.doc_id for q in questions if q.answerable}
    missing = [f"{a.doc_id} {a.title}" for a in articles if a.doc_id not in asked]
    assert missing == []


def test_check_questions_catches_ungrounded_records(articles: list[Article]) -> None:
    doc = articles[0]
    text = doc.paragraphs[0].text
    good = Question("g", "?", (text[2:5],), text[:10], doc.doc_id, "fact")
    bad_evidence = Question("e", "?", ("x",), "这句话不在语料里x", doc.doc_id, "fact")
    bad_answer = Question("a", "?", ("不在证据里",), text[:10], doc.doc_id, "fact")
    bad_doc = Question("d", "?", (text[2:5],), text[:10], "no-such-doc", "fact")
    leaky = Question("u", "?", ("答案",), "", None, "unanswerable")
    problems = check_questions([good, bad_evidence, bad_answer, bad_doc, leaky], articles)
    assert [p.split(":")[0] for p in problems] == ["e", "a", "d", "u"]


def test_load_questions_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    good = {"id": "1", "question": "谁?", "answers": ["张三"], "evidence": "张三说", "type": "fact"}
    path.write_text(json.dumps(good) + "\n{broken\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match=r"q\.jsonl:2"):
        load_questions(path)
    path.write_text(json.dumps({**good, "type": "opinion"}) + "\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="unknown type"):
        load_questions(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="duplicate"):
        load_questions(path)


def test_cmrc_file_loads_as_documents_and_questions() -> None:
    cmrc = load_cmrc(ROOT / "eval" / "data" / "cmrc2018_trial.json")
    assert len(cmrc.records) == 256
    assert len(cmrc.questions) + len(cmrc.skipped) == 1002
    ids = {r["id"] for r in cmrc.records}
    assert all(q.doc_id in ids and q.answers for q in cmrc.questions)
    contexts = {r["id"]: r["text"] for r in cmrc.records}
    assert all(any(a in contexts[q.doc_id or ""] for a in q.answers) for q in cmrc.questions)
