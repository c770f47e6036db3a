"""Every error leaves the service as ``{"error": {"code", "message"}}`` with a 4xx or 5xx status.

Domain errors from :mod:`rag.errors` map to statuses here, so routes never build error
responses themselves; the catch-all handler turns a bug into a JSON 500 instead of a
dropped connection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rag.errors import (
    CorpusError,
    DocumentNotFoundError,
    EmbedderError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidQueryError,
    RagError,
    StoreUnavailableError,
    UnsupportedDocumentError,
)

log = logging.getLogger("api")

# Most specific first: the first matching class decides the status.
DOMAIN_ERRORS: tuple[tuple[type[RagError], int, str], ...] = (
    (InvalidQueryError, 422, "invalid_input"),
    (UnsupportedDocumentError, 415, "unsupported_document"),
    (CorpusError, 422, "invalid_document"),
    (DocumentNotFoundError, 404, "document_not_found"),
    (IndexNotFoundError, 503, "index_unavailable"),
    (IndexCorruptError, 503, "index_unavailable"),
    (IndexMismatchError, 503, "index_unavailable"),
    (EmbedderError, 503, "embedder_unavailable"),
    (StoreUnavailableError, 503, "store_unavailable"),
)
# A RagError the table does not know is still the caller's input or the server's state, never a
# bug (see rag.errors); e.g. mode "llm" on a server without an LLM configured.
OTHER_DOMAIN_ERROR = (400, "request_failed")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


def error_body(code: str, message: str, details: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = list(details)
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[dict[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def domain_status(exc: RagError) -> tuple[int, str]:
    for cls, status, code in DOMAIN_ERRORS:
        if isinstance(exc, cls):
            return status, code
    return OTHER_DOMAIN_ERROR


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RagError)
    status, code = domain_status(exc)
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    return error_response(status, code, str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [_detail(e) for e in exc.errors()]
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "")
        return error_response(422, "invalid_json", f"request body is not valid JSON ({reason})")
    where = ".".join(str(p) for p in first.get("loc", ())) or "request"
    unicode = next((e for e in exc.errors() if e.get("type") == "string_unicode"), None)
    if unicode is not None:
        # A "\ud800" escape with no pair: JSON's grammar allows it, Unicode text does not, so
        # it is refused like a body that is not UTF-8 rather than as a wrong value.
        field = ".".join(str(p) for p in unicode.get("loc", ()))
        return error_response(
            400, "invalid_unicode", f"{field}: not valid Unicode (a lone surrogate such as \\ud800)"
        )
    message = f"{where}: {first.get('msg', 'invalid value')}"
    if len(details) > 1:
        message += f" (and {len(details) - 1} more)"
    return error_response(422, "invalid_request", message, details)


def _detail(error: Any) -> dict[str, Any]:
    # Only what is safe to echo: the input itself may be huge, binary or not JSON-serialisable.
    return {
        "loc": [str(p) for p in error.get("loc", ())],
        "msg": str(error.get("msg", "")),
        "type": str(error.get("type", "")),
    }


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = HTTP_CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        code, message = "invalid_json", "request body is not valid UTF-8"
    return error_response(status, code, message, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error in %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error; the log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RagError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
