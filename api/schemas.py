"""Request and response bodies, with the Chinese examples shown at ``/docs``.

Request models are strict (no type coercion, no unknown fields). The search and answer
response models are the library's own (``rag.responses``), the one definition of what
``rag … --json`` prints and these routes return; they are re-exported here with the rest.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from rag.errors import InvalidQueryError
from rag.ingest.documents import Article, ParagraphKind
from rag.ingest.ids import normalize_doc_id
from rag.responses import AnswerResponse, CitationOut, SearchHit, SearchResponse
from rag.text.unicode import lone_surrogate

__all__ = [
    "AnswerResponse",
    "AskRequest",
    "CitationOut",
    "DocumentIn",
    "DocumentOut",
    "DocumentPage",
    "DocumentSummary",
    "ErrorResponse",
    "Health",
    "SearchHit",
    "SearchRequest",
    "SearchResponse",
]


def _document_id(value: str) -> str:
    # The engine's own normal form, so the schema refuses what the engine would (field-level).
    if lone_surrogate(value) is not None:
        # The error type pydantic gives title and text for the same fault (a 400, see api.errors).
        raise PydanticCustomError("string_unicode", "Input is not valid Unicode (a lone surrogate)")
    try:
        return normalize_doc_id(value)
    except InvalidQueryError as exc:
        raise ValueError(str(exc)) from None


DocumentId = Annotated[str, AfterValidator(_document_id)]

_STRICT = ConfigDict(strict=True, extra="forbid")

QUESTION_HELP = (
    "Chinese (simplified or traditional) or English; at most RAG_MAX_QUESTION_CHARS characters "
    "(default 1000); blank is refused."
)


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={"examples": [{"query": "青屿港扩建工程", "top_k": 5}]},
    )

    query: str = Field(min_length=1, description="What to look for. " + QUESTION_HELP)
    top_k: int = Field(5, ge=1, le=50, description="How many paragraphs to return")


class AskRequest(BaseModel):
    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={
            "examples": [{"question": "青屿港扩建工程新建了几个泊位？", "top_k": 5}]
        },
    )

    question: str = Field(min_length=1, description="The question. " + QUESTION_HELP)
    top_k: int = Field(5, ge=1, le=20, description="How many sources the answer may draw on")
    mode: Literal["extractive", "llm"] | None = Field(
        None,
        description="extractive (offline, the default) or llm (needs RAG_LLM_BASE_URL); "
        "omitted: llm when configured, else extractive",
    )


class DocumentIn(BaseModel):
    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={
            "examples": [
                {
                    "id": "notes/2024-hangzhou",
                    "title": "杭州高新区发布人工智能产业新政",
                    "text": "杭州高新区近日发布人工智能产业新政，设立50亿元产业基金。\n\n"
                    "新政提出，到2026年全区人工智能核心产业营收突破3000亿元。",
                }
            ]
        },
    )

    id: DocumentId | None = Field(
        None,
        max_length=256,
        description="Stable id; the same id again replaces the document. Stored in normal "
        "form: NFC, without invisible characters or surrounding spaces. Omitted: derived from "
        "title and text.",
    )
    title: str = Field(min_length=1, max_length=500)
    text: str = Field(
        min_length=1,
        description="Plain text; paragraphs are separated by blank lines (or line breaks when "
        "there are none). At most RAG_MAX_DOCUMENT_CHARS characters (default 200000).",
    )


# The multipart form of ``POST /documents`` (documented by hand: it shares the JSON route).
UPLOAD_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "PDF, .docx, HTML, Markdown, text, or PNG/JPEG (OCR extra); the "
            "format is detected from the content",
        },
        "id": {"type": "string", "maxLength": 256, "description": "Default: the file name"},
        "title": {"type": "string", "minLength": 1, "maxLength": 500},
    },
}


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "documents": 29,
                    "chunks": 281,
                    "embedder": "e5-small",
                    "index_version": "gen-000003",
                }
            ]
        }
    )

    status: Literal["ok"]
    documents: int
    chunks: int
    embedder: str
    index_version: str = Field(description="The index generation being served")


class DocumentSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "notes/2024-hangzhou",
                    "title": "杭州高新区发布人工智能产业新政",
                    "paragraph_count": 2,
                }
            ]
        }
    )

    id: str
    title: str
    paragraph_count: int

    @classmethod
    def of(cls, article: Article) -> DocumentSummary:
        return cls(id=article.doc_id, title=article.title, paragraph_count=len(article.paragraphs))


class DocumentPage(BaseModel):
    total: int = Field(description="Documents in the index")
    offset: int
    limit: int
    documents: list[DocumentSummary]


class ParagraphOut(BaseModel):
    index: int = Field(description="1-based; the paragraph number citations refer to")
    kind: ParagraphKind
    section: str | None
    page: int | None = Field(None, description="1-based page the paragraph starts on (PDFs)")
    text: str
    start: int = Field(description="Offset of the paragraph in the source document")
    end: int


class DocumentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "notes/2024-hangzhou",
                    "title": "杭州高新区发布人工智能产业新政",
                    "source": "api",
                    "byline": None,
                    "paragraphs": [
                        {
                            "index": 1,
                            "kind": "body",
                            "section": None,
                            "text": "杭州高新区近日发布人工智能产业新政，设立50亿元产业基金。",
                            "start": 0,
                            "end": 28,
                        }
                    ],
                }
            ]
        }
    )

    id: str
    title: str
    source: str
    byline: str | None
    paragraphs: list[ParagraphOut]

    @classmethod
    def of(cls, article: Article) -> DocumentOut:
        return cls(
            id=article.doc_id,
            title=article.title,
            source=article.source,
            byline=article.byline,
            paragraphs=[
                ParagraphOut(
                    index=p.index,
                    kind=p.kind,
                    section=p.section,
                    page=p.page,
                    text=p.text,
                    start=p.start,
                    end=p.end,
                )
                for p in article.paragraphs
            ],
        )


class ErrorDetail(BaseModel):
    loc: list[str]
    msg: str
    type: str


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_request")
    message: str = Field(description="One line a person can act on")
    details: list[ErrorDetail] | None = Field(None, description="Per-field validation errors")


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": {"code": "invalid_input", "message": "question is empty"}},
            ]
        }
    )

    error: ErrorInfo
