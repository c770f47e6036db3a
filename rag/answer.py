"""Answers with citations, and the default offline answerer: extract the supporting span.

The extractive answerer reads the paragraphs of the top hits sentence by sentence, scores
each sentence by how much of the question it covers (IDF-weighted), by whether it holds a
span of the asked type (a number with the asked unit, a date, a name…), and by retrieval
rank; then it answers with the shortest clause around the best span and cites it. When the
best sentence does not cover the question well enough, it abstains and lists the closest
sources instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from rag.chunking import split_clauses, split_sentences
from rag.documents import Paragraph
from rag.lexical import UNSEEN
from rag.normalize import normalize
from rag.questions import QuestionInfo, analyse
from rag.retrieval import Hit
from rag.spans import ROLES, Span, spans_for
from rag.store import IndexSnapshot

AnswerMode = Literal["extractive", "llm"]
NOT_FOUND = "资料中未找到"
MIN_CLAUSE_CHARS = 12
MAX_ANSWER_CHARS = 120


@dataclass(frozen=True, slots=True)
class Citation:
    """A source behind an answer: ``quote`` is verbatim in the paragraph ``text``;
    ``start``/``end`` are the quote's offsets in the source document."""

    id: int
    doc_id: str
    title: str
    paragraph: int
    text: str
    quote: str
    start: int
    end: int
    score: float


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
        data: dict[str, Any] = {
            "question": self.question,
            "answer": self.answer,
            "answered": self.answered,
            "mode": self.mode,
            "citations": [asdict(c) for c in self.citations],
            "took_ms": round(self.took_ms, 2),
        }
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


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
    def answer(self, question: str, hits: Sequence[Hit], snap: IndexSnapshot) -> Answer: ...

    def stream(
        self, question: str, hits: Sequence[Hit], snap: IndexSnapshot
    ) -> Iterator[StreamEvent]: ...


def stream_finished(answer: Answer, piece_chars: int = 8) -> Iterator[StreamEvent]:
    """Stream an answer that is already complete: its citations, its text in pieces, done."""
    yield StreamEvent("citations", citations=answer.citations)
    for i in range(0, len(answer.answer), piece_chars):
        yield StreamEvent("delta", text=answer.answer[i : i + piece_chars])
    yield StreamEvent("done", answer=answer)


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    rank: int
    paragraph: Paragraph
    start: int  # sentence span in the paragraph text
    end: int
    score: float
    support: float
    spans: tuple[Span, ...] = field(default=())


class ExtractiveAnswerer:
    """Offline answerer; ``threshold`` is the support below which it abstains."""

    def __init__(self, threshold: float = 0.5, max_sources: int = 5) -> None:
        self.threshold = threshold
        self.max_sources = max_sources

    def stream(
        self, question: str, hits: Sequence[Hit], snap: IndexSnapshot
    ) -> Iterator[StreamEvent]:
        return stream_finished(self.answer(question, hits, snap))

    def answer(self, question: str, hits: Sequence[Hit], snap: IndexSnapshot) -> Answer:
        info = analyse(question)
        idf = snap.idf
        candidates = [
            c
            for rank, hit in enumerate(hits[: self.max_sources], start=1)
            for c in self._sentences(info, hit, rank, snap, idf)
        ]
        if not candidates:
            return abstain(question, hits, snap, info)
        best = max(candidates, key=lambda c: c.score)
        if best.support < self.threshold:
            return abstain(question, hits, snap, info, support=best.support)
        start, end = _answer_window(info, best)
        text = best.paragraph.text[start:end]
        citation = make_citation(1, best.hit, best.paragraph, start, end, snap)
        answer = text.rstrip("，,、：:；;") + "[1]"
        if not re.search(r"[。！？!?…”」]$", text):
            answer += "。"
        return Answer(
            question=question,
            answer=answer,
            answered=True,
            mode="extractive",
            citations=(citation,),
            support=best.support,
        )

    def _sentences(
        self, info: QuestionInfo, hit: Hit, rank: int, snap: IndexSnapshot, idf: dict[str, float]
    ) -> list[_Candidate]:
        article = snap.articles.get(hit.chunk.doc_id)
        if article is None:
            return []
        paragraph = article.paragraph(hit.chunk.paragraph)
        context = normalize(f"{article.title} {paragraph.section or ''} {paragraph.text}").lower()
        weights = {t: idf.get(t, idf[UNSEEN]) for t in info.terms}
        total = sum(weights.values()) or 1.0
        in_context = sum(w for t, w in weights.items() if t in context) / total
        out = []
        for s, e in split_sentences(paragraph.text):
            sentence = paragraph.text[s:e]
            norm = normalize(sentence).lower()
            in_sentence = sum(w for t, w in weights.items() if t in norm) / total
            spans = tuple(spans_for(info.qtype, sentence)) if info.wants_span else ()
            type_ok = bool(spans) or not info.wants_span
            unit_ok = info.unit is None or any(sp.unit == info.unit for sp in spans)
            if info.english:
                # No lexical evidence across languages: lean on the dense score of the hit.
                support = hit.dense_score or 0.0
            else:
                support = 0.6 * in_sentence + 0.4 * in_context
            if not type_ok:
                support *= 0.5
            elif not unit_ok:
                support *= 0.7
            in_chunk = hit.chunk.offset <= s < hit.chunk.offset + len(hit.chunk.text)
            score = (
                in_sentence
                + 0.5 * in_context
                + 0.3 / rank
                + (0.3 if spans else 0.0)
                + (0.2 if info.unit and unit_ok else 0.0)
                + (0.1 if in_chunk else 0.0)
            )
            out.append(_Candidate(hit, rank, paragraph, s, e, score, support, spans))
        return out


def _answer_window(info: QuestionInfo, best: _Candidate) -> tuple[int, int]:
    """The shortest clause run of the best sentence that holds the chosen span."""
    text = best.paragraph.text
    if not best.spans:
        if best.end - best.start <= MAX_ANSWER_CHARS:
            return best.start, best.end
        return _densest_window(info, text, best.start, best.end)
    span = _pick_span(info, text[best.start : best.end], best.spans)
    s, e = best.start + span.start, best.start + span.end
    clauses = split_clauses(text, best.start, best.end)
    i = next(k for k, (cs, ce) in enumerate(clauses) if cs <= s < ce)
    j = next((k for k, (cs, ce) in enumerate(clauses) if cs < e <= ce), i)
    lo, hi = clauses[i][0], clauses[j][1]
    while hi - lo < MIN_CLAUSE_CHARS and i > 0:
        i -= 1
        lo = clauses[i][0]
    return lo, hi


def _pick_span(info: QuestionInfo, sentence: str, spans: Sequence[Span]) -> Span:
    """The span closest to the words of the question (and with the asked unit or role)."""
    norm = normalize(sentence).lower()
    anchors = [m.start() for t in info.terms for m in re.finditer(re.escape(t), norm)]
    roles = [r for r in ROLES if r in info.text]

    def cost(span: Span) -> float:
        distance = min((abs(a - span.start) for a in anchors), default=len(sentence))
        c = float(distance)
        if info.unit and span.unit != info.unit:
            c += 50
        if roles and not any(
            sentence[max(0, span.start - len(r)) : span.start] == r for r in roles
        ):
            c += 30
        return c

    return min(spans, key=cost)


def _densest_window(info: QuestionInfo, text: str, start: int, end: int) -> tuple[int, int]:
    clauses = split_clauses(text, start, end)
    best = (start, min(end, start + MAX_ANSWER_CHARS))
    best_hits = -1
    for i in range(len(clauses)):
        j = i
        while j + 1 < len(clauses) and clauses[j + 1][1] - clauses[i][0] <= MAX_ANSWER_CHARS:
            j += 1
        window = normalize(text[clauses[i][0] : clauses[j][1]]).lower()
        hits = sum(1 for t in info.terms if t in window)
        if hits > best_hits:
            best, best_hits = (clauses[i][0], clauses[j][1]), hits
    return best


def make_citation(
    cid: int, hit: Hit, paragraph: Paragraph, start: int, end: int, snap: IndexSnapshot
) -> Citation:
    src_start, src_end = paragraph.source_span(start, end)
    return Citation(
        id=cid,
        doc_id=paragraph.doc_id,
        title=snap.articles[paragraph.doc_id].title,
        paragraph=paragraph.index,
        text=paragraph.text,
        quote=paragraph.text[start:end],
        start=src_start,
        end=src_end,
        score=round(float(hit.score), 6),
    )


def abstain(
    question: str,
    hits: Sequence[Hit],
    snap: IndexSnapshot,
    info: QuestionInfo | None = None,
    support: float = 0.0,
    limit: int = 3,
) -> Answer:
    """No supported answer: say so plainly and list the closest sources with their best sentence."""
    info = info or analyse(question)
    citations: list[Citation] = []
    for hit in hits[:limit]:
        article = snap.articles.get(hit.chunk.doc_id)
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
        citations.append(make_citation(len(citations) + 1, hit, paragraph, s, e, snap))
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
