"""``/documents``: list, open, add or replace, and delete documents of the live index.

Writes are plain ``def`` routes, so the embedding job runs in a worker thread while searches
keep being served from the current snapshot; the engine allows one writer at a time and
commits atomically before the response is sent.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from api.dependencies import (
    EngineDep,
    TokenFirstRoute,
    require_json,
    require_read_token,
    require_write_token,
)
from api.routes import error_responses
from api.schemas import (
    UPLOAD_FORM,
    DocumentId,
    DocumentIn,
    DocumentOut,
    DocumentPage,
    DocumentSummary,
)

reads = APIRouter(
    route_class=TokenFirstRoute,
    tags=["documents"],
    dependencies=[Depends(require_read_token)],
    responses=error_responses(401, 422),
)
writes = APIRouter(
    route_class=TokenFirstRoute,
    tags=["documents"],
    dependencies=[Depends(require_write_token)],
    responses=error_responses(401, 422, 503),
)


@reads.get("/documents", response_model=DocumentPage, summary="List documents, a page at a time")
def list_documents(
    engine: EngineDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DocumentPage:
    total, articles = engine.documents(offset, limit)
    return DocumentPage(
        total=total,
        offset=offset,
        limit=limit,
        documents=[DocumentSummary.of(a) for a in articles],
    )


# ``:path`` because ids may contain "/" (e.g. "notes/2024-hangzhou").
@reads.get(
    "/documents/{doc_id:path}",
    response_model=DocumentOut,
    responses=error_responses(404),
    summary="A document with its numbered paragraphs (what citations point to)",
)
def get_document(doc_id: str, engine: EngineDep) -> DocumentOut:
    return DocumentOut.of(engine.document(doc_id))


class _MultipartRoute(APIRoute):
    """Matches only multipart bodies, so ``POST /documents`` takes JSON or a file upload."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.FULL and not _is_multipart(scope):
            return Match.NONE, {}
        return match, child


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"multipart/form-data")
    return False


def upload_document(
    engine: EngineDep,
    response: Response,
    file: Annotated[UploadFile, File(description="PDF, Word, HTML, Markdown, text or image")],
    id: Annotated[DocumentId | None, Form(max_length=256)] = None,
    title: Annotated[str | None, Form(min_length=1, max_length=500)] = None,
) -> DocumentSummary:
    # A plain def: reading the spooled upload and embedding run in a worker thread.
    article = engine.add_file(file.file.read(), file.filename or "upload", doc_id=id, title=title)
    response.headers["Location"] = "/documents/" + quote(article.doc_id)
    return DocumentSummary.of(article)


# Registered before the JSON route it shares the path with; documented as part of that route.
writes.add_api_route(
    "/documents",
    upload_document,
    methods=["POST"],
    status_code=201,
    response_model=DocumentSummary,
    include_in_schema=False,
    route_class_override=_MultipartRoute,
)

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {"content": {"multipart/form-data": {"schema": UPLOAD_FORM}}}
}


@writes.post(
    "/documents",
    status_code=201,
    response_model=DocumentSummary,
    dependencies=[Depends(require_json)],
    responses=error_responses(400, 413, 415),
    summary="Add a document (JSON text or a file upload), or replace the one with the same id",
    description="Send JSON (`id`, `title`, `text`) or `multipart/form-data` with a `file` "
    "(PDF, .docx, HTML, Markdown, text, or PNG/JPEG with the [ocr] extra; the format is "
    "detected from the content) and optional `id` (default: the file name without suffix) "
    "and `title`. Same size limits as JSON: RAG_MAX_BODY_BYTES for the request, "
    "RAG_MAX_DOCUMENT_CHARS for the extracted text. A file that cannot be read is a 415 "
    "(format) or 422 (damaged, encrypted, no text) with the reason.",
    openapi_extra=UPLOAD_BODY,
)
def add_document(body: DocumentIn, engine: EngineDep, response: Response) -> DocumentSummary:
    article = engine.add_document(body.title, body.text, doc_id=body.id)
    response.headers["Location"] = "/documents/" + quote(article.doc_id)
    return DocumentSummary.of(article)


@writes.delete(
    "/documents/{doc_id:path}",
    status_code=204,
    response_class=Response,
    responses=error_responses(404),
    summary="Delete a document from the index",
)
def delete_document(doc_id: str, engine: EngineDep) -> Response:
    engine.delete_document(doc_id)
    return Response(status_code=204)
