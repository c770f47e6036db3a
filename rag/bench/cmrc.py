"""CMRC 2018 (SQuAD-style JSON) as an open-domain benchmark: one document per context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rag.bench.questions import Question, QuestionSetError


@dataclass(frozen=True, slots=True)
class CmrcSet:
    """The contexts as corpus records and the questions, each pointing at its context."""

    records: list[dict[str, str]]
    questions: list[Question]
    skipped: list[str]  # ids of questions with an empty question text (nothing to ask)


def load_cmrc(path: Path) -> CmrcSet:
    """Contexts become ``{"id", "title", "text"}`` records; gold answers are deduplicated."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        articles = data["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise QuestionSetError(f"{path}: not a SQuAD-style CMRC file ({exc})") from exc
    records: list[dict[str, str]] = []
    questions: list[Question] = []
    skipped: list[str] = []
    try:
        for article in articles:
            for paragraph in article["paragraphs"]:
                pid = str(paragraph["id"])
                records.append({"id": pid, "title": article["title"], "text": paragraph["context"]})
                for qa in paragraph["qas"]:
                    if not str(qa["question"]).strip():
                        skipped.append(str(qa["id"]))
                        continue
                    golds = tuple(dict.fromkeys(a["text"] for a in qa["answers"] if a["text"]))
                    questions.append(
                        Question(
                            id=str(qa["id"]),
                            question=qa["question"],
                            answers=golds,
                            evidence="",
                            doc_id=pid,
                            type="cmrc",
                        )
                    )
    except (KeyError, TypeError) as exc:
        raise QuestionSetError(f"{path}: unexpected structure (missing {exc})") from exc
    if not questions:
        raise QuestionSetError(f"{path}: no questions")
    return CmrcSet(records, questions, skipped)


def write_corpus(cmrc: CmrcSet, path: Path) -> Path:
    """Write the contexts as a JSONL corpus (left untouched when already identical)."""
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in cmrc.records)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
