"""OpenAI-compatible chat: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Any OpenAI client (or a chat UI that speaks the API) can talk to the service as to one model,
``rag-zh``: the last user message is the question and the reply is the ``/ask`` answer, with
its numbered sources appended to the text and the citation objects in an extra ``citations``
field (on the completion, and on the first chunk of a stream).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from api.dependencies import EngineDep, TokenFirstRoute, require_json, require_read_token
from api.errors import domain_status, error_body
from api.routes import error_responses
from api.schemas import CitationOut
from api.streaming import AnswerStream
from rag.answer.types import Answer, StreamEvent
from rag.errors import RagError
from rag.responses import citations_json

log = logging.getLogger("api")

MODEL = "rag-zh"
CREATED = 1_767_225_600  # 2026-01-01: a fixed "created" for the one model, as OpenAI lists it

router = APIRouter(
    route_class=TokenFirstRoute,
    prefix="/v1",
    tags=["OpenAI-compatible"],
    dependencies=[Depends(require_read_token)],
    responses=error_responses(401, 404),
)


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")  # name, tool_calls… are accepted and unused
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # Sampling options (temperature, max_tokens, n…) are accepted and ignored: answers are
    # quoted from the sources, not sampled.
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL,
                    "messages": [{"role": "user", "content": "青屿港扩建工程新建了几个泊位？"}],
                }
            ]
        },
    )
    model: str = MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    top_k: int = Field(5, ge=1, le=20, description="Extension: how many sources to draw on")

    def question(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text()
        raise HTTPException(422, "messages: there is no message with role 'user' to answer")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


class ReplyMessage(BaseModel):
    role: Literal["assistant"]
    content: str = Field(description="The answer, then its numbered sources (来源：[n] …)")


class Choice(BaseModel):
    index: int
    message: ReplyMessage
    finish_reason: Literal["stop"]
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    citations: list[CitationOut] = Field(description="Extension: the citations of /ask")
    answered: bool = Field(description="Extension: false when the sources hold no answer")


STREAM_DOC = {
    "description": "With `stream: true`: `chat.completion.chunk` events, then `data: [DONE]`",
    "content": {
        "text/event-stream": {
            # each event, as OpenAPI 3.2 describes a stream (and as /ask/stream does): a data
            # line holding a chunk as JSON, or [DONE] last
            "itemSchema": {
                "type": "object",
                "required": ["data"],
                "properties": {"data": {"type": "string"}},
            }
        }
    },
}


def _check_model(name: str) -> None:
    if name != MODEL:
        raise HTTPException(404, f"model {name!r} does not exist; this service serves {MODEL!r}")


def source_list(answer: Answer) -> str:
    """The numbered sources under an answer, as ``rag ask`` prints them."""
    if not answer.citations:
        return ""
    lines = ["来源：" if answer.answered else "最接近的资料："]
    lines += [f"[{c.id}] {c.title} · 第{c.paragraph}段 · “{c.quote}”" for c in answer.citations]
    return "\n\n" + "\n".join(lines)


@router.get("/models", response_model=ModelList, summary="The one model this service answers as")
def list_models() -> ModelList:
    return ModelList(object="list", data=[_model()])


@router.get("/models/{model}", response_model=ModelCard, summary="The model, by name")
def get_model(model: str) -> ModelCard:
    _check_model(model)
    return _model()


def _model() -> ModelCard:
    return ModelCard(id=MODEL, object="model", created=CREATED, owned_by=MODEL)


@router.post(
    "/chat/completions",
    dependencies=[Depends(require_json)],
    response_model=ChatCompletion,
    responses={200: STREAM_DOC, **error_responses(400, 413, 415, 422, 503)},
    summary="Answer the last user message (OpenAI chat format; stream: true for SSE chunks)",
)
async def chat_completions(body: ChatRequest, engine: EngineDep) -> JSONResponse | AnswerStream:
    _check_model(body.model)
    question = body.question()
    if body.stream:
        # Input is checked before the first chunk, so a bad question is still a plain 4xx.
        events = await run_in_threadpool(engine.ask_stream, question, body.top_k)
        return AnswerStream(events, encoder=_chunks)
    answer = await run_in_threadpool(engine.ask, question, body.top_k)
    return JSONResponse(
        {
            "id": _completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": answer.answer + source_list(answer),
                    },
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "citations": citations_json(answer.citations),
            "answered": answer.answered,
        }
    )


def _completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def _frame(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


async def _chunks(events: Iterator[StreamEvent]) -> AsyncIterator[bytes]:
    """OpenAI ``chat.completion.chunk`` frames, then ``data: [DONE]``."""
    head = {"id": _completion_id(), "object": "chat.completion.chunk", "created": int(time.time())}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _frame({**head, "model": MODEL, "choices": [choice], **extra})

    try:
        async for event in iterate_in_threadpool(events):
            if event.kind == "citations":
                citations = citations_json(event.citations)
                yield chunk({"role": "assistant", "content": ""}, citations=citations)
            elif event.kind == "delta":
                yield chunk({"content": event.text})
            elif event.answer is not None:
                answer = event.answer
                if sources := source_list(answer):
                    yield chunk({"content": sources})
                yield chunk(
                    {}, "stop", citations=citations_json(answer.citations), answered=answer.answered
                )
    except RagError as exc:
        # Headers are gone already: the failure becomes the stream's last frame, as OpenAI does.
        yield _frame(error_body(domain_status(exc)[1], str(exc)))
    except Exception:
        log.exception("chat stream failed")
        yield _frame(error_body("internal_error", "the answer stream failed"))
    yield _frame("[DONE]")
