"""The seam between the engine and storage: what every store offers, and the types it speaks.

The engine, the answerers and the API read and write only through :class:`Store`; they never
see rows, files or FAISS ids. The local store (:mod:`rag.index.local`) is the default.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from rag.errors import IndexMismatchError
from rag.index.embeddings import vector_space
from rag.index.lexical import BM25Params
from rag.ingest.chunking import Chunk, ChunkParams
from rag.ingest.documents import Article


@dataclass(frozen=True)
class IndexParams:
    """Everything that must match between the index on disk and the running configuration."""

    embedder: str
    dim: int
    chunking: ChunkParams = field(default_factory=ChunkParams)
    bm25: BM25Params = field(default_factory=BM25Params)

    def to_json(self) -> dict[str, Any]:
        return {
            "embedder": {"name": self.embedder, "dim": self.dim},
            "chunking": asdict(self.chunking),
            "bm25": asdict(self.bm25),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexParams:
        return cls(
            embedder=str(data["embedder"]["name"]),
            dim=int(data["embedder"]["dim"]),
            chunking=ChunkParams(**data["chunking"]),
            bm25=BM25Params(**data["bm25"]),
        )

    def check(self, configured: IndexParams, where: str) -> None:
        """Raise a one-line :class:`IndexMismatchError` when ``configured`` cannot read this."""
        # backends shown to give interchangeable vectors share a space and read each other's
        stored_space, configured_space = (
            vector_space(self.embedder),
            vector_space(configured.embedder),
        )
        if (stored_space, self.dim) != (configured_space, configured.dim):
            raise IndexMismatchError(
                f"index in {where} was built with embedder {self.embedder} ({self.dim}-dim, "
                f"vector space {stored_space}) but the configured embedder is "
                f"{configured.embedder} ({configured.dim}-dim, vector space {configured_space}); "
                "rebuild with `rag index --rebuild` or set RAG_EMBEDDER to match"
            )
        if self.chunking != configured.chunking:
            raise IndexMismatchError(
                f"index in {where} was built with chunking {asdict(self.chunking)} but the "
                f"configuration says {asdict(configured.chunking)}; rebuild with "
                "`rag index --rebuild`"
            )


@dataclass(frozen=True, eq=False)
class IndexedDocument:
    """One article ready to store: its chunks, their BM25 tokens and their vectors (row-aligned).

    ``origin`` is the corpus file the article came from and ``digest`` the hash of its bytes
    (both empty for documents added through the API); a folder sync compares them to decide
    what changed.
    """

    article: Article
    chunks: tuple[Chunk, ...]
    tokens: tuple[tuple[str, ...], ...]
    vectors: np.ndarray
    origin: str = ""
    digest: str = ""


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A search result; ``order`` ranks chunks by when they were stored, to break score ties
    the same way on every run."""

    chunk: Chunk
    score: float
    order: int = 0


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts of what is stored; ``version`` changes with every committed write."""

    documents: int
    paragraphs: int
    chunks: int
    version: str


class Store(Protocol):
    """Documents, their chunks and both search indexes, behind one small interface."""

    params: IndexParams

    def stats(self) -> StoreStats: ...

    def dense_search(self, vector: np.ndarray, k: int) -> list[ScoredChunk]:
        """The ``k`` chunks whose vectors are closest to ``vector`` (inner product), best first."""
        ...

    def lexical_search(self, tokens: Sequence[str], k: int) -> list[ScoredChunk]:
        """The ``k`` chunks with the highest positive BM25 score for ``tokens``, best first."""
        ...

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """BM25 IDF of each token over the chunks, plus ``UNSEEN`` for a token in no chunk."""
        ...

    def article(self, doc_id: str) -> Article | None: ...

    def articles(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Article]]:
        """How many documents there are, and one page of them in insertion order."""
        ...

    def paragraph_chunks(self, doc_id: str, paragraph: int) -> list[Chunk]:
        """The chunks of one paragraph, in text order."""
        ...

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of ``chunk_ids`` (rows aligned; zeros for an unknown id)."""
        ...

    def iter_chunks(self) -> Iterator[Chunk]: ...

    def origins(self) -> dict[str, str]:
        """Content digest of every corpus file documents came from (for a folder sync)."""
        ...

    def origin_documents(self, origin: str) -> list[str]:
        """Ids of the documents that came from the corpus file ``origin``."""
        ...

    def write(self, add: Sequence[IndexedDocument], remove: Iterable[str] = ()) -> StoreStats:
        """Atomically delete the ``remove`` ids and add (or replace, by id) ``add``.

        Applied on top of the latest committed state, whichever process committed it.
        """
        ...

    def refresh(self) -> bool:
        """Pick up writes committed by other processes; True when something changed."""
        ...

    def needs_compaction(self) -> bool:
        """Whether enough has been written or deleted since the last compaction to run one."""
        ...

    def compact(self) -> None:
        """Merge the write batches and drop deleted entries; searches keep working meanwhile."""
        ...

    def close(self) -> None: ...
