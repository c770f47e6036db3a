"""One definition of each response shape: rag.responses serves the CLI, HTTP and the stream."""

from __future__ import annotations

from dataclasses import fields, replace

from api import schemas
from rag.answer.types import Answer, Citation
from rag.engine import RagEngine
from rag.responses import AnswerResponse, CitationOut, SearchResponse, citations_json

CITATION = Citation(
    id=1,
    doc_id="d-01",
    title="标题",
    paragraph=2,
    text="光谷瞪羚企业累计达1690家。",
    quote="光谷瞪羚企业累计达1690家",
    start=10,
    end=24,
    score=0.016261,
)
ANSWER = Answer(
    question="光谷瞪羚企业累计达到多少家？",
    answer="光谷瞪羚企业累计达1690家[1]。",
    answered=True,
    mode="extractive",
    citations=(CITATION,),
    took_ms=12.3456,
    support=0.9,
    details={"not": "serialised"},
)


def test_the_service_declares_the_librarys_models() -> None:
    assert schemas.AnswerResponse is AnswerResponse
    assert schemas.SearchResponse is SearchResponse
    assert schemas.CitationOut is CitationOut


def test_a_citation_field_reaches_the_json_only_through_citationout() -> None:
    # Adding a field to Citation without adding it to CitationOut (or the reverse) fails here.
    assert [f.name for f in fields(Citation)] == list(CitationOut.model_fields)


def test_answer_json_keeps_its_field_order_and_drops_internal_fields() -> None:
    data = ANSWER.to_json()
    assert list(data) == ["question", "answer", "answered", "mode", "citations", "took_ms"]
    assert data["took_ms"] == 12.35
    assert data["citations"] == citations_json([CITATION])
    assert list(data["citations"][0]) == [f.name for f in fields(Citation)]
    assert data["citations"][0]["quote"] == "光谷瞪羚企业累计达1690家"


def test_warnings_appear_only_when_there_are_some() -> None:
    assert "warnings" not in ANSWER.to_json()
    warned = replace(ANSWER, warnings=("LLM unavailable: extractive answer instead",))
    assert warned.to_json()["warnings"] == ["LLM unavailable: extractive answer instead"]
    assert AnswerResponse.model_validate(warned.to_json()).warnings == list(warned.warnings)


def test_search_json_rounds_scores_and_time(hash_engine: RagEngine) -> None:
    result = hash_engine.search("光谷瞪羚企业", k=2)
    data = result.to_json()
    assert list(data) == ["query", "results", "took_ms"]
    keys = ["chunk_id", "doc_id", "title", "paragraph", "text", "score", "start", "end"]
    assert [list(hit) for hit in data["results"]] == [keys, keys]
    assert data["results"][0]["score"] == round(float(result.hits[0].score), 6)
    assert data["results"][0]["doc_id"] == result.hits[0].chunk.doc_id
    assert data["took_ms"] == round(result.took_ms, 2)
    assert SearchResponse.model_validate(data).to_json() == data
