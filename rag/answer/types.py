"""Answers with citations: the types every answerer returns, and helpers they share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from rag.answer.reader.question import QuestionInfo, analyse
from rag.index.store import Store
from rag.ingest.documents import Paragraph
from rag.responses import AnswerResponse
from rag.search.retrieval import Hit
from rag.text.sentences import split_sentences

AnswerMode = Literal["extractive", "llm"]
NOT_FOUND = "资料中未找到"


@dataclass(frozen=True, slots=True)
class Citation:
    """A source behind an answer: ``quote`` is verbatim in the paragraph ``text``;
    ``start``/``end`` are the quote's offsets in the source document (for PDF, Word and HTML:
    in the text extracted from it). ``page`` (1-based, PDFs) and ``section`` say where the
    paragraph sits when the format has pages or headings."""

    id: int
    doc_id: str
    title: str
    paragraph: int
    text: str
    quote: str
    start: int
    end: int
    score: float
    section: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    answered: bool
    mode: AnswerMode
    citations: tuple[Citation, ...]
    took_ms: float = 0.0
    warnings: tuple[str, ...] = ()
    support: float = 0.0  # how well the sources cover the question, 0..1 (not serialised)
    details: Mapping[str, Any] = field(default_factory=dict)  # diagnostics, not serialised

    def to_json(self) -> dict[str, Any]:
        """What ``rag ask --json`` prints and ``POST /ask`` returns (``rag.responses``)."""
        return AnswerResponse.of(self).to_json()


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event of a streamed answer.

    ``citations`` comes first (the sources, so a page can show them at once), then
    ``delta`` events carrying answer text, then ``done`` carrying the final :class:`Answer`.
    """

    kind: Literal["citations", "delta", "done"]
    citations: tuple[Citation, ...] = ()
    text: str = ""
    answer: Answer | None = None


class Answerer(Protocol):
    def answer(self, question: str, hits: Sequence[Hit], store: Store) -> Answer: ...

    def stream(self, question: str, hits: Sequence[Hit], store: Store) -> Iterator[StreamEvent]: ...


def stream_finished(answer: Answer, piece_chars: int = 8) -> Iterator[StreamEvent]:
    """Stream an answer that is already complete: its citations, its text in pieces, done."""
    yield StreamEvent("citations", citations=answer.citations)
    for i in range(0, len(answer.answer), piece_chars):
        yield StreamEvent("delta", text=answer.answer[i : i + piece_chars])
    yield StreamEvent("done", answer=answer)


def make_citation(cid: int, hit: Hit, paragraph: Paragraph, start: int, end: int) -> Citation:
    src_start, src_end = paragraph.source_span(start, end)
    return Citation(
        id=cid,
        doc_id=paragraph.doc_id,
        title=hit.chunk.title,
        paragraph=paragraph.index,
        text=paragraph.text,
        quote=paragraph.text[start:end],
        start=src_start,
        end=src_end,
        score=round(float(hit.score), 6),
        section=paragraph.section,
        page=paragraph.page,
    )


def abstain(
    question: str,
    hits: Sequence[Hit],
    store: Store,
    info: QuestionInfo | None = None,
    support: float = 0.0,
    limit: int = 3,
) -> Answer:
    """No supported answer: say so plainly and list the closest sources with their best sentence."""
    info = info or analyse(question)
    citations: list[Citation] = []
    for hit in hits[:limit]:
        article = store.article(hit.chunk.doc_id)
        if article is None:
            continue
        paragraph = article.paragraph(hit.chunk.paragraph)
        s, e = hit.chunk.offset, hit.chunk.offset + len(hit.chunk.text)
        sentences = split_sentences(paragraph.text)
        if sentences:
            s, e = max(
                sentences,
                key=lambda se: sum(1 for t in info.terms if t in paragraph.text[se[0] : se[1]]),
            )
        citations.append(make_citation(len(citations) + 1, hit, paragraph, s, e))
    text = f"{NOT_FOUND}该问题的答案。"
    if citations:
        text += "以下是最接近的资料，供参考。"
    if info.english:
        text += " (No answer to this question was found in the sources.)"
    return Answer(
        question=question,
        answer=text,
        answered=False,
        mode="extractive",
        citations=tuple(citations),
        support=support,
    )
