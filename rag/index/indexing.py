"""Turn articles into what the store keeps: chunks, their BM25 tokens and their vectors.

Embedding goes through the content-hash cache, so text the index has seen is never embedded
again. Long work reports progress through a ``ProgressFactory`` (the CLI passes tqdm).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.index.embeddings import Embedder, EmbeddingCache, embed_with_cache
from rag.index.store import IndexedDocument
from rag.ingest.chunking import Chunk, ChunkParams, chunk_articles, embedding_text
from rag.ingest.documents import Article
from rag.text.tokens import tokenize


class ProgressBar(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[int, str], ProgressBar]


@dataclass(frozen=True)
class BuildReport:
    """What a build or sync did; ``embedded`` counts texts sent to the model, the rest came
    from the cache. ``added``/``updated``/``removed`` count source files (a sync) or
    documents; ``skipped`` holds one line per file that could not be read."""

    documents: int
    paragraphs: int
    chunks: int
    embedded: int
    seconds: float
    embed_seconds: float
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: tuple[str, ...] = field(default_factory=tuple)
    written: int = 0  # chunks of the documents this run wrote (embedded or from the cache)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


def chunk_tokens(chunk: Chunk) -> tuple[str, ...]:
    """BM25 tokens of a chunk: its text plus its article title and section for context."""
    return tuple(tokenize(f"{chunk.title} {chunk.section or ''} {chunk.text}"))


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


@dataclass(frozen=True)
class Prepared:
    documents: list[IndexedDocument]
    chunks: int
    embedded: int
    embed_seconds: float


def prepare(
    articles: Sequence[Article],
    chunking: ChunkParams,
    embedder: Embedder,
    cache: EmbeddingCache | None,
    batch_size: int = 16,
    progress: ProgressFactory | None = None,
    origins: dict[str, tuple[str, str]] | None = None,
) -> Prepared:
    """Chunk, tokenise and embed ``articles`` (one model pass for all of them).

    ``origins`` maps a document id to the corpus file it came from and that file's digest.
    """
    per_article = [chunk_articles([a], chunking) for a in articles]
    flat = [c for chunks in per_article for c in chunks]
    started = time.perf_counter()
    vectors, embedded = embed_chunks(flat, embedder, cache, batch_size, progress)
    embed_seconds = time.perf_counter() - started
    out: list[IndexedDocument] = []
    row = 0
    for article, chunks in zip(articles, per_article, strict=True):
        out.append(
            IndexedDocument(
                article=article,
                chunks=tuple(chunks),
                tokens=tuple(chunk_tokens(c) for c in chunks),
                vectors=vectors[row : row + len(chunks)],
                origin=(origins or {}).get(article.doc_id, ("", ""))[0],
                digest=(origins or {}).get(article.doc_id, ("", ""))[1],
            )
        )
        row += len(chunks)
    return Prepared(out, len(flat), embedded, embed_seconds)
