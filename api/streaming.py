"""Server-sent events for streamed answers: ``citations``, then ``delta``s, then ``done``.

The answer iterator is blocking (it may wait on an LLM), so each step runs in the threadpool.
When the client goes away, Starlette cancels the response: no further step is taken and the
iterator is closed, so an abandoned stream costs nothing more.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.errors import domain_status, error_body
from rag.answer.types import StreamEvent
from rag.errors import RagError
from rag.responses import citations_json

log = logging.getLogger("api")


def encode(kind: str, data: dict[str, Any]) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {kind}\ndata: {payload}\n\n".encode()


def event_data(event: StreamEvent) -> dict[str, Any]:
    """The JSON of each event; ``done`` carries exactly what ``POST /ask`` returns."""
    if event.kind == "citations":
        return {"citations": citations_json(event.citations)}
    if event.kind == "delta":
        return {"text": event.text}
    assert event.answer is not None
    return event.answer.to_json()


async def _encoded(events: Iterator[StreamEvent]) -> AsyncIterator[bytes]:
    try:
        async for event in iterate_in_threadpool(events):
            yield encode(event.kind, event_data(event))
    except RagError as exc:
        # Headers are gone already: the failure becomes the stream's last event.
        yield encode("error", error_body(domain_status(exc)[1], str(exc)))
    except Exception:
        log.exception("answer stream failed")
        yield encode("error", error_body("internal_error", "the answer stream failed"))


Encoder = Callable[[Iterator[StreamEvent]], AsyncIterator[bytes]]


class AnswerStream(StreamingResponse):
    """``text/event-stream`` of an answer; closes the answer iterator however the stream ends.

    ``encoder`` turns the events into bytes (default: this module's events; the OpenAI
    route passes its chunk format).
    """

    def __init__(self, events: Iterator[StreamEvent], encoder: Encoder = _encoded) -> None:
        super().__init__(
            encoder(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Never running now: a worker-thread step always finishes before cancellation lands.
            close = getattr(self._events, "close", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(close)
