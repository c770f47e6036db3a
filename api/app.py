"""The app factory: ``rag serve`` passes it a Settings object (see :mod:`api.server`);
``uvicorn --factory api.app:create_app`` builds it from the environment (``RAG_*``).

Nothing heavy happens here or at import: the engine opens its index and warms the embedding
model once, in the lifespan, before the first request is accepted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from api.errors import install_error_handlers
from api.mcp import McpEndpoint
from api.metrics import Metrics, MetricsMiddleware
from api.middleware import BodySizeLimitMiddleware, HeadAsGetMiddleware
from api.routes import documents, openai, page, query, service
from rag import __version__
from rag.config import Settings, get_settings
from rag.engine import RagEngine
from rag.text.crosslingual import glossary, sense_table

DESCRIPTION = """
Offline Chinese semantic search and question answering with exact paragraph citations.

Errors are JSON: `{"error": {"code": "...", "message": "..."}}`. Set `RAG_API_TOKEN` to require
`Authorization: Bearer <token>` on document writes (and on every route with
`RAG_API_TOKEN_READS=1`).
"""


def create_app(settings: Settings | None = None, engine: RagEngine | None = None) -> FastAPI:
    """Build the app; ``engine`` (tests) is used as given, else one is opened from ``settings``.

    Without ``settings`` the engine's settings are used, or else the environment (``RAG_*``).
    """
    settings = settings or (engine.settings if engine else get_settings())
    metrics = Metrics()
    mcp = McpEndpoint(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = await run_in_threadpool(open_engine, settings, engine)
        async with mcp.running(lambda: app.state.engine):
            yield

    app = FastAPI(
        title="rag-zh",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Operation ids are the route function names: search, ask, add_document…
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.engine = None
    metrics.watch(lambda: app.state.engine)
    install_error_handlers(app)
    app.include_router(service.router)
    app.include_router(query.router)
    app.include_router(documents.reads)
    app.include_router(documents.writes)
    app.include_router(openai.router)
    app.include_router(page.router)
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")
    app.router.routes.append(Route("/mcp", mcp, include_in_schema=False))  # an ASGI app

    # Added innermost first: metrics see every answer, including 413s and CORS preflights.
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


# Any question does: it only has to run every stage once (no corpus's wording needed).
WARM_UP_QUESTION = "这里讲了什么？"


def open_engine(settings: Settings, engine: RagEngine | None = None) -> RagEngine:
    """Load the index and answer one question, so no request pays for loading the model,
    the tokenizer's dictionary, the answerer's tables or the glossary English questions are
    translated with (never the LLM: extractive mode)."""
    engine = engine or RagEngine(settings)
    engine.ask(WARM_UP_QUESTION, 1, mode="extractive")
    # the sessions concurrent queries run on, which one question alone does not open
    warm_queries = getattr(engine.embedder, "warm_queries", None)
    if warm_queries is not None:
        warm_queries()
    glossary()
    sense_table()  # its reverse, for the reader's English questions
    return engine
