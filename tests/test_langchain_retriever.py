"""``RagRetriever`` against LangChain's standard retriever suite, local and over a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder
from rag.integrations.langchain import RagRetriever, ServiceError
from tests.conftest import copy_index
from tests.live_server import SEEDS, LiveServer

# The suite has one async test; anyio runs it (sync tests ignore the mark).
pytestmark = pytest.mark.anyio
QUERY = "北京经开区布局了哪些未来产业？"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def seed_engine(hash_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RagEngine:
    index_dir = copy_index(hash_index_dir, tmp_path_factory.mktemp("langchain") / "index")
    settings = Settings(index_dir=index_dir, corpus=[SEEDS], embedder="hash")
    return RagEngine(settings, embedder=HashEmbedder())


class TestLocalEngine(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _engine(self, seed_engine: RagEngine) -> None:
        self.engine = seed_engine

    @property
    def retriever_constructor(self) -> type[RagRetriever]:
        return RagRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"engine": self.engine}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


@pytest.mark.e2e
class TestRunningServer(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _server(self, e5_server: LiveServer) -> None:
        self.server = e5_server

    @property
    def retriever_constructor(self) -> type[RagRetriever]:
        return RagRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"url": self.server.url, "token": self.server.token}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


def test_documents_carry_the_citation_fields(seed_engine: RagEngine) -> None:
    docs = RagRetriever(engine=seed_engine, k=2).invoke(QUERY)
    hits = seed_engine.search(QUERY, 2).hits
    assert [d.id for d in docs] == [h.chunk.chunk_id for h in hits]
    for doc, hit in zip(docs, hits, strict=True):
        assert isinstance(doc, Document) and doc.page_content == hit.chunk.text
        paragraph = seed_engine.document(doc.metadata["doc_id"]).paragraph(
            doc.metadata["paragraph"]
        )
        assert hit.chunk.text in paragraph.text
        assert doc.metadata["title"] == hit.chunk.title and doc.metadata["score"] > 0


def test_one_backend_exactly(seed_engine: RagEngine) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        RagRetriever()
    with pytest.raises(ValueError, match="exactly one"):
        RagRetriever(engine=seed_engine, url="http://127.0.0.1:1")


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="cannot reach"):
        RagRetriever(url="http://127.0.0.1:9", timeout=2).invoke(QUERY)


@pytest.mark.e2e
def test_a_wrong_token_is_the_servers_message(e5_server: LiveServer) -> None:
    with pytest.raises(ServiceError, match="401"):
        RagRetriever(url=e5_server.url, token="wrong").invoke(QUERY)
