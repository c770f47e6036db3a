"""A LangChain retriever over this service: a local :class:`~rag.engine.RagEngine` or a server URL.

Needs the ``[langchain]`` extra (``langchain-core``). Each hit becomes a ``Document`` whose
``page_content`` is the paragraph text and whose metadata carries what a citation needs:
``doc_id``, ``title``, ``paragraph`` (1-based), ``start``/``end`` (offsets in the source
document), ``chunk_id`` and ``score``.

    retriever = RagRetriever(url="http://127.0.0.1:8000", k=3)
    retriever.invoke("光谷有多少家瞪羚企业？")
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, model_validator

from rag.errors import RagError

CITATION_FIELDS = ("doc_id", "title", "paragraph", "start", "end", "chunk_id", "score")


class ServiceError(RagError):
    """The search server refused the request or could not be reached."""


class RagRetriever(BaseRetriever):
    """Hybrid search as a LangChain retriever; give exactly one of ``engine`` or ``url``.

    ``k`` (here or per call: ``invoke(query, k=3)``) is how many paragraphs to return.
    ``token`` is sent as the bearer token (``RAG_API_TOKEN``) to a server.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Any = None
    url: str | None = None
    token: str | None = None
    k: int = Field(default=5, ge=1, le=50)
    timeout: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _one_backend(self) -> RagRetriever:
        if (self.engine is None) == (self.url is None):
            raise ValueError("give exactly one of engine= (a RagEngine) or url= (a rag serve URL)")
        return self

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        top_k = k or self.k
        if self.engine is not None:
            return _documents(self.engine.search(query, top_k).to_json())
        try:
            with httpx.Client(timeout=self.timeout) as client:
                response = client.post(
                    self._endpoint(), json=self._body(query, top_k), headers=self._headers()
                )
        except httpx.TransportError as exc:
            raise ServiceError(f"cannot reach {self.url}: {exc}") from exc
        return _documents(_checked(response))

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        if self.engine is not None:
            engine, top_k = self.engine, k or self.k
            # Search blocks (the embedding model): run it off the event loop.
            result = await anyio.to_thread.run_sync(lambda: engine.search(query, top_k).to_json())
            return _documents(result)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    self._endpoint(), json=self._body(query, k or self.k), headers=self._headers()
                )
        except httpx.TransportError as exc:
            raise ServiceError(f"cannot reach {self.url}: {exc}") from exc
        return _documents(_checked(response))

    def _endpoint(self) -> str:
        assert self.url is not None
        return self.url.rstrip("/") + "/search"

    @staticmethod
    def _body(query: str, top_k: int) -> dict[str, Any]:
        return {"query": query, "top_k": top_k}

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def _checked(response: httpx.Response) -> dict[str, Any]:
    if response.is_success:
        data: dict[str, Any] = response.json()
        return data
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    raise ServiceError(f"search failed ({response.status_code}): {message}")


def _documents(result: dict[str, Any]) -> list[Document]:
    return [
        Document(
            id=hit["chunk_id"],
            page_content=hit["text"],
            metadata={name: hit[name] for name in CITATION_FIELDS},
        )
        for hit in result["results"]
    ]
