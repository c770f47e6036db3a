"""Route modules: each parses input, calls :class:`rag.engine.RagEngine` and returns its result."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorResponse

_ERRORS = {
    400: "Malformed request (a body that is not UTF-8, a string with a lone surrogate) or a "
    "request the server cannot serve",
    401: "Missing or wrong bearer token",
    404: "No such document",
    413: "Request body over RAG_MAX_BODY_BYTES",
    415: "Body not sent as application/json",
    422: "Invalid input: wrong type, out of range, blank, too long, or not JSON",
    503: "The index or the embedding model cannot be loaded",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors a route can answer, all with the one error body."""
    return {s: {"model": ErrorResponse, "description": _ERRORS[s]} for s in statuses}
