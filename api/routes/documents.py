"""``/documents``: list, open, add or replace, and delete documents of the live index.

Writes are plain ``def`` routes, so the embedding job runs in a worker thread while searches
keep being served from the current snapshot; the engine allows one writer at a time and
commits atomically before the response is sent.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response

from api.dependencies import (
    EngineDep,
    TokenFirstRoute,
    require_json,
    require_read_token,
    require_write_token,
)
from api.routes import error_responses
from api.schemas import DocumentIn, DocumentOut, DocumentPage, DocumentSummary

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


@writes.post(
    "/documents",
    status_code=201,
    response_model=DocumentSummary,
    dependencies=[Depends(require_json)],
    responses=error_responses(400, 413, 415),
    summary="Add a document, or replace the one with the same id",
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
