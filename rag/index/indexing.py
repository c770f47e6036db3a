"""Build an index snapshot from articles: chunk, tokenise, embed (through the cache)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.index.embeddings import Embedder, EmbeddingCache, embed_with_cache
from rag.index.store import IndexParams, IndexSnapshot, build_snapshot
from rag.ingest.chunking import Chunk, chunk_articles, embedding_text
from rag.ingest.documents import Article
from rag.text.tokens import tokenize


class ProgressBar(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[int, str], ProgressBar]


@dataclass(frozen=True)
class BuildReport:
    """What a build did; ``embedded`` counts texts sent to the model, the rest came from cache."""

    documents: int
    paragraphs: int
    chunks: int
    embedded: int
    seconds: float
    embed_seconds: float

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


def chunk_tokens(chunk: Chunk) -> list[str]:
    """BM25 tokens of a chunk: its text plus its article title and section for context."""
    return tokenize(f"{chunk.title} {chunk.section or ''} {chunk.text}")


def embed_chunks(
    chunks: Sequence[Chunk],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    batch_size: int = 16,
    progress: ProgressFactory | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``chunks``; returns them and how many texts the model had to embed."""
    bar = progress(len(chunks), "embedding") if progress and chunks else None
    try:
        return embed_with_cache(
            embedder,
            cache,
            [embedding_text(c) for c in chunks],
            batch_size=batch_size,
            progress=bar.update if bar else None,
        )
    finally:
        if bar:
            bar.close()


def build(
    articles: list[Article],
    params: IndexParams,
    embedder: Embedder,
    cache: EmbeddingCache | None,
    batch_size: int = 16,
    progress: ProgressFactory | None = None,
    sources: tuple[str, ...] = (),
) -> tuple[IndexSnapshot, BuildReport]:
    started = time.perf_counter()
    chunks = chunk_articles(articles, params.chunking)
    tokens = [chunk_tokens(c) for c in chunks]
    t0 = time.perf_counter()
    vectors, embedded = embed_chunks(chunks, embedder, cache, batch_size, progress)
    embed_seconds = time.perf_counter() - t0
    snap = build_snapshot(params, articles, chunks, tokens, vectors, sources)
    report = BuildReport(
        documents=len(articles),
        paragraphs=sum(len(a.paragraphs) for a in articles),
        chunks=len(chunks),
        embedded=embedded,
        seconds=time.perf_counter() - started,
        embed_seconds=embed_seconds,
    )
    return snap, report


def replace_documents(
    snap: IndexSnapshot,
    articles: list[Article],
    remove: set[str],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    batch_size: int = 16,
    progress: ProgressFactory | None = None,
) -> IndexSnapshot:
    """A new snapshot without the ``remove`` ids and with ``articles`` added (or replaced).

    Only the new articles' chunks are embedded; everything else is copied from ``snap``.
    """
    replaced = remove | {a.doc_id for a in articles}
    keep_rows = [i for i, c in enumerate(snap.chunks) if c.doc_id not in replaced]
    new_chunks = chunk_articles(articles, snap.params.chunking)
    new_vectors, _ = embed_chunks(new_chunks, embedder, cache, batch_size, progress)
    old_vectors = (
        snap.dense.vectors()[keep_rows] if keep_rows else np.zeros((0, snap.params.dim), np.float32)
    )
    kept = [a for a in snap.articles.values() if a.doc_id not in replaced]
    return build_snapshot(
        snap.params,
        kept + articles,
        [snap.chunks[i] for i in keep_rows] + new_chunks,
        [snap.tokens[i] for i in keep_rows] + [chunk_tokens(c) for c in new_chunks],
        np.vstack([old_vectors, new_vectors]) if len(new_vectors) else old_vectors,
        snap.sources,
    )
