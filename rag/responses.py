"""The JSON shapes of search results and answers, defined once.

``rag search --json``, ``rag ask --json``, ``POST /search``, ``POST /ask``, the events of
``/ask/stream`` and the OpenAPI schema at ``/docs`` all come from these models: the library
builds them from its own objects (``SearchResult``, ``Answer``, ``Citation``) with
:meth:`SearchResponse.of` and :meth:`AnswerResponse.of`, and the HTTP service declares them as
its response models. A field added to ``Citation`` is added here once to reach every output
(a test checks that the two agree).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the library's objects; importing them here would load the whole pipeline
    from rag.answer.types import Answer, Citation
    from rag.engine import SearchResult


class SearchHit(BaseModel):
    """One retrieved paragraph (its best chunk) with its fused score."""

    chunk_id: str
    doc_id: str
    title: str
    paragraph: int = Field(description="1-based paragraph number in the document")
    text: str
    score: float
    start: int = Field(description="Offset of the paragraph text in the source document")
    end: int


class SearchResponse(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "query": "青屿港扩建工程",
                    "results": [
                        {
                            "chunk_id": "a6354cc251455508",
                            "doc_id": "harbour-report",
                            "title": "青屿港扩建工程进展顺利",
                            "paragraph": 1,
                            "text": "青屿港扩建工程由海川港务集团负责建设,"
                            "计划于明年底全面投入运营。",
                            "score": 0.016133,
                            "start": 180,
                            "end": 207,
                        }
                    ],
                    "took_ms": 14.2,
                }
            ]
        },
    )

    query: str
    results: list[SearchHit]
    took_ms: float

    @classmethod
    def of(cls, result: SearchResult) -> SearchResponse:
        return cls(
            query=result.query,
            results=[
                SearchHit(
                    chunk_id=h.chunk.chunk_id,
                    doc_id=h.chunk.doc_id,
                    title=h.chunk.title,
                    paragraph=h.chunk.paragraph,
                    text=h.chunk.text,
                    score=round(float(h.score), 6),
                    start=h.chunk.start,
                    end=h.chunk.end,
                )
                for h in result.hits
            ],
            took_ms=round(result.took_ms, 2),
        )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()


class CitationOut(BaseModel):
    """A source behind an answer: the cited paragraph, the verbatim quote and its offsets."""

    id: int = Field(description="The [n] marker in the answer text")
    doc_id: str
    title: str
    paragraph: int
    text: str = Field(description="The whole cited paragraph")
    quote: str = Field(description="The supporting span, verbatim in text")
    start: int = Field(description="Offset of the quote in the source document")
    end: int
    score: float
    section: str | None = Field(None, description="The heading the paragraph sits under")
    page: int | None = Field(None, description="1-based page the paragraph starts on (PDFs)")

    @classmethod
    def of(cls, citation: Citation) -> CitationOut:
        return cls.model_validate(citation, from_attributes=True)


def citations_json(citations: Iterable[Citation]) -> list[dict[str, Any]]:
    """The citations as every response carries them (also the stream's first event)."""
    return [CitationOut.of(c).model_dump() for c in citations]


class AnswerResponse(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "青屿港扩建工程新建了几个泊位？",
                    "answer": "工程新建泊位6个[1]。",
                    "answered": True,
                    "mode": "extractive",
                    "citations": [
                        {
                            "id": 1,
                            "doc_id": "harbour-report",
                            "title": "青屿港扩建工程进展顺利",
                            "paragraph": 2,
                            "text": "工程新建泊位6个,总投资18.5亿元。",
                            "quote": "工程新建泊位6个",
                            "start": 212,
                            "end": 220,
                            "score": 0.016261,
                        }
                    ],
                    "took_ms": 31.5,
                }
            ]
        },
    )

    question: str
    answer: str
    answered: bool = Field(description="False when the sources do not support an answer")
    mode: Literal["extractive", "llm"]
    citations: list[CitationOut]
    took_ms: float
    warnings: list[str] = Field(
        default_factory=list, description="Present only when there is something to warn about"
    )

    @classmethod
    def of(cls, answer: Answer) -> AnswerResponse:
        return cls(
            question=answer.question,
            answer=answer.answer,
            answered=answer.answered,
            mode=answer.mode,
            citations=[CitationOut.of(c) for c in answer.citations],
            took_ms=round(answer.took_ms, 2),
            warnings=list(answer.warnings),
        )

    def to_json(self) -> dict[str, Any]:
        """The body ``POST /ask`` returns; ``warnings`` only when there is something to warn of."""
        return self.model_dump(exclude=None if self.warnings else {"warnings"})
