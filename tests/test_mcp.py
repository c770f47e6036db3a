"""MCP tools, driven by the official SDK's client: in-process, over stdio (``rag mcp``) and HTTP."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from rag.cli import app as cli_app
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder
from rag.integrations.mcp import build_server
from tests.conftest import copy_index
from tests.live_server import SEEDS, LiveServer

if TYPE_CHECKING:  # the SDK takes ~1 s to import: only the tests that use it import it
    from mcp import Client

pytestmark = pytest.mark.anyio
QUESTION = "北京经开区已在几个未来产业细分领域形成相对成熟的基础？"
TOOLS = {"search", "ask", "get_document"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def exercise(client: Client) -> dict[str, Any]:
    """List the tools and call each once; returns the answer of ``ask``."""
    assert {t.name for t in (await client.list_tools()).tools} == TOOLS
    found = await client.call_tool("search", {"query": "未来产业", "top_k": 3})
    assert not found.is_error and found.structured_content is not None
    results = found.structured_content["results"]
    assert len(results) == 3
    doc = await client.call_tool("get_document", {"id": results[0]["doc_id"]})
    assert doc.structured_content is not None
    paragraphs = doc.structured_content["paragraphs"]
    assert paragraphs[results[0]["paragraph"] - 1]["text"] == results[0]["text"]
    asked = await client.call_tool("ask", {"question": QUESTION, "top_k": 5})
    assert not asked.is_error and asked.structured_content is not None
    return asked.structured_content


async def test_tools_return_what_the_http_api_returns(hash_engine: RagEngine) -> None:
    from mcp import Client

    async with Client(build_server(lambda: hash_engine)) as client:
        answer = await exercise(client)
    assert answer == {**hash_engine.ask(QUESTION).to_json(), "took_ms": answer["took_ms"]}


async def test_bad_input_is_a_tool_error_not_a_crash(hash_engine: RagEngine) -> None:
    from mcp import Client

    async with Client(build_server(lambda: hash_engine)) as client:
        empty = await client.call_tool("ask", {"question": "  "})
        assert empty.is_error and "question is empty" in empty.content[0].text  # type: ignore[union-attr]
        missing = await client.call_tool("get_document", {"id": "no/such-doc"})
        assert missing.is_error and "no document" in missing.content[0].text  # type: ignore[union-attr]
        out_of_range = await client.call_tool("search", {"query": "光谷", "top_k": 500})
        assert out_of_range.is_error


def _same_as_in_process(answer: dict, engine: RagEngine) -> bool:  # type: ignore[type-arg]
    """The MCP answer is the engine's own (the reader's quality is the benchmark's business)."""
    return answer == {**engine.ask(QUESTION).to_json(), "took_ms": answer["took_ms"]}


@pytest.mark.e2e
async def test_rag_mcp_over_stdio_with_the_real_model(
    e5_index_dir: Path, tmp_path: Path, e5_engine: RagEngine
) -> None:
    from mcp import Client, StdioServerParameters

    index_dir = copy_index(e5_index_dir, tmp_path / "index")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "rag.cli", "mcp", "--index-dir", str(index_dir)],
        env={**os.environ, "RAG_CORPUS": str(SEEDS)},
    )
    async with Client(params, read_timeout_seconds=120) as client:
        answer = await exercise(client)
    assert answer["answered"] and _same_as_in_process(answer, e5_engine)


@pytest.mark.e2e
async def test_mcp_over_http_needs_the_token_like_every_route(
    e5_server: LiveServer, e5_engine: RagEngine
) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    url = e5_server.url + "/mcp"
    headers = {"Authorization": f"Bearer {e5_server.token}"}
    async with Client(
        streamable_http_client(url, http_client=create_mcp_http_client(headers))
    ) as c:
        answer = await exercise(c)
    assert answer["answered"] and _same_as_in_process(answer, e5_engine)

    with e5_server.client(token=False) as plain:
        response = plain.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_rag_mcp_refuses_a_mismatched_index_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    settings = Settings(index_dir=index_dir, corpus=[SEEDS], embedder="hash")
    RagEngine(settings, HashEmbedder()).build()
    monkeypatch.setenv("RAG_CORPUS", str(SEEDS))  # the default embedder is e5-small
    result = CliRunner().invoke(cli_app, ["mcp", "--index-dir", str(index_dir)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "embedder hash" in lines[0]
