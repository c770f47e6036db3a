"""``/mcp``: the MCP tools of :mod:`rag.integrations.mcp` over streamable HTTP, in the same app.

The SDK's session manager needs a running task group, so the app's lifespan enters
:meth:`McpEndpoint.running` (a fresh manager each time: one cannot be restarted). Requests
pass the same bearer check as every read route first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from api.dependencies import bearer, require_read_token
from api.errors import error_response
from rag.config import Settings
from rag.engine import RagEngine


class McpEndpoint:
    """ASGI app answering ``/mcp``; stateless, so any request may reach any worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._handler: Any = None

    @asynccontextmanager
    async def running(self, engine: Callable[[], RagEngine]) -> AsyncIterator[None]:
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
        from mcp.server.transport_security import TransportSecuritySettings

        from rag.integrations.mcp import build_server

        server = build_server(engine)
        # The SDK's Host/Origin allow-list defaults to loopback only; this service has one
        # policy for all its routes (bind address, RAG_API_TOKEN, RAG_CORS_ORIGINS).
        server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            max_request_body_size=self.settings.max_body_bytes,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = server.session_manager
        async with manager.run():
            self._handler = StreamableHTTPASGIApp(manager)
            try:
                yield
            finally:
                self._handler = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await require_read_token(self.settings, await bearer(Request(scope)))
        except HTTPException as exc:
            response = error_response(401, "unauthorized", str(exc.detail), headers=exc.headers)
            await response(scope, receive, send)
            return
        if self._handler is None:
            response = error_response(503, "unavailable", "the MCP endpoint is not running")
            await response(scope, receive, send)
            return
        await self._handler(scope, receive, send)
