"""``/search``, ``/ask`` and ``/ask/stream``: the same objects ``rag search|ask --json`` print."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.dependencies import EngineDep, TokenFirstRoute, require_json, require_read_token
from api.routes import error_responses
from api.schemas import AnswerResponse, AskRequest, SearchRequest, SearchResponse
from api.streaming import AnswerStream

router = APIRouter(
    route_class=TokenFirstRoute,
    tags=["search and answers"],
    dependencies=[Depends(require_read_token), Depends(require_json)],
    responses=error_responses(400, 401, 413, 415, 422, 503),
)

STREAM_EXAMPLE = (
    'event: citations\ndata: {"citations":[{"id":1,"doc_id":"harbour-report",'
    '"title":"青屿港扩建工程进展顺利","paragraph":2,'
    '"text":"……工程新建泊位6个,总投资18.5亿元。","quote":"工程新建泊位6个",'
    '"start":212,"end":220,"score":0.016261}]}\n\n'
    'event: delta\ndata: {"text":"工程新建泊位6"}\n\n'
    'event: delta\ndata: {"text":"个[1]。"}\n\n'
    'event: done\ndata: {"question":"青屿港扩建工程新建了几个泊位？",'
    '"answer":"工程新建泊位6个[1]。","answered":true,"mode":"extractive",'
    '"citations":[…],"took_ms":31.5}\n\n'
)

_ref = "#/components/schemas/{}".format
# One event of the stream (OpenAPI 3.2 ``itemSchema``, as FastAPI documents its own SSE routes).
SSE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["citations", "delta", "done", "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["citations"],
                        "properties": {
                            "citations": {"type": "array", "items": {"$ref": _ref("CitationOut")}}
                        },
                    },
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {"text": {"type": "string"}},
                    },
                    {"$ref": _ref("AnswerResponse")},
                    {"$ref": _ref("ErrorResponse")},
                ]
            },
        },
    },
}


# ``/search`` and ``/ask`` run on the event loop and await their question's embedding, which
# the batcher's workers compute: handed to the threadpool, a search cost the server 2-3 ms
# more CPU under load than the search itself. ``/ask`` hands its reader to a thread only
# where it would hold the loop long (an English question's sentence embeddings, an LLM).
@router.post("/search", response_model=SearchResponse, summary="Find the closest paragraphs")
async def search(body: SearchRequest, engine: EngineDep) -> JSONResponse:
    return JSONResponse((await engine.search_async(body.query, body.top_k)).to_json())


@router.post("/ask", response_model=AnswerResponse, summary="Answer a question with cited sources")
async def ask(body: AskRequest, engine: EngineDep) -> JSONResponse:
    answer = await engine.ask_async(body.question, body.top_k, mode=body.mode)
    return JSONResponse(answer.to_json())


@router.post(
    "/ask/stream",
    response_class=AnswerStream,
    status_code=200,
    summary="Answer as server-sent events",
    description="`citations` first (the sources, to show at once), then `delta` events with "
    "answer text, then `done` carrying the whole `/ask` object. A failure after the stream "
    "has started arrives as an `error` event carrying the error body.",
    responses={
        200: {
            "content": {"text/event-stream": {"itemSchema": SSE_EVENT, "example": STREAM_EXAMPLE}},
            "description": "An event stream",
        }
    },
)
async def ask_stream(body: AskRequest, engine: EngineDep) -> AnswerStream:
    # Input is checked before the first event, so a bad question is still a plain 4xx.
    events = await run_in_threadpool(engine.ask_stream, body.question, body.top_k, body.mode)
    return AnswerStream(events)
