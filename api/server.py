"""Run the service: ``rag serve`` calls :func:`serve` with a :class:`~rag.config.Settings` object.

uvicorn has no read timeouts of its own: a client that announces a body and never sends it,
or sends its headers a byte at a time, holds a connection (and a file descriptor) for ever.
:class:`ServiceProtocol` is uvicorn's h11 protocol with three bounds added, read from the
settings: headers must arrive within ``header_timeout`` seconds, a body within
``body_timeout`` seconds of its headers (408 otherwise), and at most ``max_connections``
connections are served at once (503 beyond). It also answers the requests uvicorn refuses
before the app (a malformed request line, Content-Length or chunk size) with the service's JSON
error body instead of plain text.

Running uvicorn yourself, ``uvicorn --factory api.app:create_app --http
api.server:ServiceProtocol`` adds the same bounds, with the settings read from ``RAG_*``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.app import create_app
from api.errors import error_body
from rag.config import Settings, get_settings
from rag.engine import RagEngine


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take to send a request, and how many connections are served."""

    header_timeout: float
    body_timeout: float
    max_connections: int

    @classmethod
    def of(cls, settings: Settings) -> ConnectionLimits:
        return cls(settings.header_timeout, settings.body_timeout, settings.max_connections)


Phase = Literal["headers", "body"]


class ServiceProtocol(H11Protocol):
    """uvicorn's h11 protocol with read deadlines, a connection limit and JSON refusals."""

    # None: read from the environment's settings (when uvicorn is given this class by name).
    limits: ClassVar[ConnectionLimits | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bounds = self.limits or ConnectionLimits.of(get_settings())
        self.limit_concurrency = None  # refused below, with a JSON body, rather than plain text
        self.app = self._limited(self.app)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: Phase | None = None
        self._request_bytes = False  # bytes of a request not yet parsed have arrived

    # -- uvicorn's protocol hooks ----------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is not h11.SEND_BODY:
            self._request_bytes = True
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_request()  # the next request, pipelined, may already be parsed

    def send_400_response(self, msg: str) -> None:
        self._refuse(
            400,
            "bad_request",
            "malformed HTTP request (request line, header, Content-Length or chunked body); "
            "nothing was processed",
        )

    # -- read deadlines --------------------------------------------------------------------

    def _follow_request(self) -> None:
        """Arm the deadline of the phase the client is in; each phase gets its time once.

        Headers are timed from the connection's start, or on a kept-alive connection from the
        next request's first byte (until then uvicorn's keep-alive timeout applies); a body is
        timed from the end of its headers.
        """
        state = self.conn.their_state
        phase: Phase | None = None
        if state is h11.SEND_BODY:
            phase = "body"
        elif state is h11.IDLE and (self.cycle is None or self._request_bytes):
            phase = "headers"
        if phase == self._phase:
            return
        self._cancel_deadline()
        if phase != "headers":
            self._request_bytes = False
        self._phase = phase
        if phase is not None:
            self._deadline = self.loop.call_later(self._seconds(phase), self._expired, phase)

    def _seconds(self, phase: Phase) -> float:
        return self.bounds.header_timeout if phase == "headers" else self.bounds.body_timeout

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, phase: Phase) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if phase == "headers" and not self._request_bytes:
            self.transport.close()  # a connection that never sent a byte: nothing to answer
            return
        setting = "RAG_HEADER_TIMEOUT" if phase == "headers" else "RAG_BODY_TIMEOUT"
        self.logger.warning("Request %s not received in time: answered 408.", phase)
        self._refuse(
            408,
            "request_timeout",
            f"the request {phase} did not arrive within {self._seconds(phase):g} s ({setting})",
        )

    # -- refusals --------------------------------------------------------------------------

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer with the service's JSON error body and close the connection.

        When the app has already begun its answer, only the close is left to do.
        """
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # The app may be waiting for the body: it now sees a disconnect, and what it
            # sends afterwards is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
            if cycle.response_started:
                self.transport.close()
                return
        body, headers = _error_payload(status, code, message)
        if self.conn.our_state is h11.SEND_RESPONSE:
            reason = _REASONS[status].encode()
            parts = [
                self.conn.send(h11.Response(status_code=status, headers=headers, reason=reason)),
                self.conn.send(h11.Data(data=body)),
                self.conn.send(h11.EndOfMessage()),
            ]
            self.transport.write(b"".join(part or b"" for part in parts))
        elif self.conn.our_state is h11.IDLE:
            # No request was parsed (its headers never finished), so h11 has no response to
            # send: write the bytes of one.
            head = f"HTTP/1.1 {status} {_REASONS[status]}\r\n".encode()
            head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
            self.transport.write(head + b"\r\n" + body)
        self.transport.close()

    def _limited(self, app: Any) -> Any:
        """``app`` behind the connection limit: a request on one connection too many is a 503."""

        async def limited(scope: Any, receive: Any, send: Any) -> None:
            limit = self.bounds.max_connections
            if scope["type"] != "http" or len(self.connections) <= limit:
                await app(scope, receive, send)
                return
            self.logger.warning("Over RAG_MAX_CONNECTIONS=%d: answered 503.", limit)
            body, headers = _error_payload(
                503,
                "over_capacity",
                f"the server is serving its {limit} connections (RAG_MAX_CONNECTIONS); "
                "retry shortly",
            )
            start = {"type": "http.response.start", "status": 503}
            await send({**start, "headers": [*headers, (b"retry-after", b"1")]})
            await send({"type": "http.response.body", "body": body})

        return limited


def _error_payload(status: int, code: str, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps(error_body(code, message), ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return body, headers


_REASONS = {400: "Bad Request", 408: "Request Timeout", 503: "Service Unavailable"}


def protocol_for(settings: Settings) -> type[ServiceProtocol]:
    """A :class:`ServiceProtocol` bound to ``settings`` rather than to the environment."""
    return type(
        "BoundServiceProtocol", (ServiceProtocol,), {"limits": ConnectionLimits.of(settings)}
    )


def build_server(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    engine: RagEngine | None = None,
    log_level: str = "info",
) -> uvicorn.Server:
    """The uvicorn server :func:`serve` runs (tests run it in a thread and stop it)."""
    config = uvicorn.Config(
        create_app(settings, engine),
        host=host,
        port=port,
        http=protocol_for(settings),
        ws="none",  # no route upgrades; a websocket protocol would not have the bounds above
        log_level=log_level,
    )
    return uvicorn.Server(config)


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    engine: RagEngine | None = None,
    log_level: str = "info",
) -> None:
    """Serve the app built from ``settings`` (and ``engine``, when already open) until stopped."""
    build_server(settings, host, port, engine, log_level).run()
