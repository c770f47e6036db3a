"""What routes receive: the engine and settings of their app, and the checks they require."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag.config import Settings
from rag.engine import RagEngine

bearer = HTTPBearer(
    auto_error=False,
    description="RAG_API_TOKEN; required on writes when set, and on reads with RAG_API_TOKEN_READS=1",
)


# The dependencies are ``async``: none blocks, and a plain ``def`` one would cost each request
# a hand-off to the threadpool and back.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> RagEngine:
    engine: RagEngine = request.app.state.engine
    return engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[RagEngine, Depends(get_engine)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _check_token(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    expected = settings.api_token
    if not expected:
        return
    # Headers arrive as latin-1 text; compare the raw bytes in constant time.
    given = credentials.credentials.encode("latin-1", "replace") if credentials else b""
    if not hmac.compare_digest(given, expected.encode("utf-8")):
        raise HTTPException(
            401,
            "missing or wrong bearer token (Authorization: Bearer <RAG_API_TOKEN>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_write_token(settings: SettingsDep, credentials: Credentials) -> None:
    """Writes need the token whenever RAG_API_TOKEN is set."""
    _check_token(settings, credentials)


async def require_read_token(settings: SettingsDep, credentials: Credentials) -> None:
    """Reads need the token only with RAG_API_TOKEN_READS=1."""
    if settings.api_token_reads:
        _check_token(settings, credentials)


TOKEN_CHECKS = (require_write_token, require_read_token)


class TokenFirstRoute(APIRoute):
    """A route that checks its bearer token before FastAPI reads the request body.

    FastAPI parses a JSON body before it runs dependencies, so a client without the token that
    sent a malformed body learnt a 422 about the body instead of the 401 about the token. The
    route's own token dependency still runs; this only runs it first, from the app's settings.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        checks = [d.dependency for d in self.dependencies if d.dependency in TOKEN_CHECKS]
        if not checks:
            return handler

        async def token_first(request: Request) -> Response:
            settings: Settings = request.app.state.settings
            credentials = await bearer(request)
            for check in checks:
                await check(settings, credentials)
            return await handler(request)

        return token_first


async def require_json(request: Request) -> None:
    """A body must be declared as JSON; anything else is a 415, not a confusing 422."""
    content_type = request.headers.get("content-type", "")
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    json_like = message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
    if not json_like:
        raise HTTPException(
            415, f"send the body as application/json (got {content_type or 'no Content-Type'})"
        )
