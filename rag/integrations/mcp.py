"""An MCP server over a :class:`~rag.engine.RagEngine`: tools ``search``, ``ask``, ``get_document``.

The same server runs over stdio (``rag mcp``) and over streamable HTTP at ``/mcp`` in the
HTTP service (mounted by :mod:`api.mcp`). Tool results are the JSON objects the HTTP API
returns for ``POST /search``, ``POST /ask`` and ``GET /documents/{id}``, as structured content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from pydantic import Field

from rag import __version__
from rag.errors import RagError
from rag.ingest.documents import Article

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from rag.engine import RagEngine

INSTRUCTIONS = (
    "Search and question answering over an indexed collection of Chinese articles. "
    "`ask` answers with numbered citations ([n]) that quote the source paragraph verbatim, or "
    "says 资料中未找到 when the sources do not support an answer; `search` returns the ranked "
    "paragraphs; `get_document` returns a whole article with its numbered paragraphs."
)


def document_json(article: Article) -> dict[str, Any]:
    """A document as ``GET /documents/{id}`` returns it."""
    return {
        "id": article.doc_id,
        "title": article.title,
        "source": article.source,
        "byline": article.byline,
        "paragraphs": [
            {
                "index": p.index,
                "kind": p.kind,
                "section": p.section,
                "text": p.text,
                "start": p.start,
                "end": p.end,
            }
            for p in article.paragraphs
        ],
    }


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    # The SDK calls logging.basicConfig in MCPServer's constructor; a library must leave the
    # host process's logging (uvicorn's, a user's) as it found it.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def build_server(engine: Callable[[], RagEngine]) -> MCPServer:
    """The MCP server; ``engine`` is called per tool call, so it may be swapped (app lifespan)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    with _root_logging_kept():
        server: MCPServer = MCPServer(
            "rag-zh", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
        )

    async def call(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        # Engine calls block (embedding, an LLM): run them off the event loop.
        try:
            return await anyio.to_thread.run_sync(fn)
        except RagError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool(
        description="Find the paragraphs closest to QUERY (Chinese or English), best first, "
        "with document id, title, 1-based paragraph number and score."
    )
    async def search(query: str, top_k: Annotated[int, Field(ge=1, le=50)] = 5) -> dict[str, Any]:
        return await call(lambda: engine().search(query, top_k).to_json())

    @server.tool(
        description="Answer QUESTION from the indexed articles. The answer cites its sources "
        "as [n]; each citation gives the document, paragraph and the verbatim quote. "
        "`answered` is false when the sources do not support an answer."
    )
    async def ask(question: str, top_k: Annotated[int, Field(ge=1, le=20)] = 5) -> dict[str, Any]:
        return await call(lambda: engine().ask(question, top_k).to_json())

    @server.tool(
        description="A whole document by id (as returned by search or in a citation), with "
        "its numbered paragraphs."
    )
    async def get_document(id: str) -> dict[str, Any]:
        return await call(lambda: document_json(engine().document(id)))

    return server


def run_stdio(engine: RagEngine) -> None:
    """Serve ``engine`` to one MCP client over stdin/stdout until it disconnects."""
    build_server(lambda: engine).run("stdio")
