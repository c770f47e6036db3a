"""The library's front door: one object that indexes, searches, answers and updates.

The CLI and the HTTP service are thin layers over :class:`RagEngine`. Searches read the
current snapshot without locks; a writer builds a new snapshot on the side (embedding only
what changed), commits it to disk and then swaps the reference, so readers see the old or
the new index, never a half-built one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.reader.reader import ExtractiveAnswerer
from rag.answer.types import Answer, Answerer, AnswerMode, StreamEvent
from rag.config import Settings
from rag.errors import DocumentNotFoundError, IndexNotFoundError, InvalidQueryError
from rag.index.embeddings import Embedder, EmbeddingCache, embed_with_cache, make_embedder
from rag.index.indexing import BuildReport, ProgressFactory, build, replace_documents
from rag.index.store import (
    CACHE_FILE,
    IndexParams,
    IndexSnapshot,
    commit_snapshot,
    load_snapshot,
    writer_lock,
)
from rag.ingest.chunking import ChunkParams
from rag.ingest.corpus import content_id, load_corpus, parse_plain
from rag.ingest.documents import Article
from rag.search.retrieval import Hit, Mode, RetrievalParams, Retriever
from rag.text.normalize import normalize


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    took_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "results": [
                {
                    "chunk_id": h.chunk.chunk_id,
                    "doc_id": h.chunk.doc_id,
                    "title": h.chunk.title,
                    "paragraph": h.chunk.paragraph,
                    "text": h.chunk.text,
                    "score": round(float(h.score), 6),
                    "start": h.chunk.start,
                    "end": h.chunk.end,
                }
                for h in self.hits
            ],
            "took_ms": round(self.took_ms, 2),
        }


class RagEngine:
    """Index, search and answer over one index directory."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        answerer: Answerer | None = None,
    ) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self.embedder = embedder or make_embedder(settings.embedder)
        self.params = IndexParams(
            embedder=self.embedder.name,
            dim=self.embedder.dim,
            chunking=ChunkParams(size=settings.chunk_size, overlap=settings.chunk_overlap),
        )
        self.retriever = Retriever(
            self.embedder,
            RetrievalParams(
                fusion=settings.fusion,
                rrf_k=settings.rrf_k,
                dense_weight=settings.dense_weight,
                candidates=settings.candidates,
            ),
        )
        self.answerer: Answerer = answerer or ExtractiveAnswerer(
            settings.abstain_threshold,
            scorer=self.sentence_similarity,
            query_vector=self.retriever.embed_query,
        )
        self._snap: IndexSnapshot | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._cache: EmbeddingCache | None = None
        self._llm: Answerer | None = None

    # -- index lifecycle -----------------------------------------------------------------

    @property
    def snapshot(self) -> IndexSnapshot:
        """The current index, loaded from disk on first use."""
        snap = self._snap
        if snap is None:
            with self._load_lock:
                if self._snap is None:
                    self._snap = load_snapshot(self.index_dir, self.params)
                snap = self._snap
        return snap

    def has_index(self) -> bool:
        if self._snap is not None:
            return True
        try:
            _ = self.snapshot
        except IndexNotFoundError:
            return False
        return True

    def reload(self) -> IndexSnapshot:
        with self._load_lock:
            self._snap = load_snapshot(self.index_dir, self.params)
            return self._snap

    def _embedding_cache(self) -> EmbeddingCache:
        # Readers reach this too (sentence_similarity): open one connection, not one per racer.
        with self._load_lock:
            if self._cache is None:
                self._cache = EmbeddingCache(self.index_dir / CACHE_FILE, self.embedder)
            return self._cache

    def build(
        self, corpus: Sequence[Path] | None = None, progress: ProgressFactory | None = None
    ) -> BuildReport:
        """(Re)build the index from ``corpus`` (default: the configured corpus)."""
        paths = list(corpus or self.settings.corpus)
        articles = load_corpus(paths)  # fails before anything on disk is touched
        with self._write_lock, writer_lock(self.index_dir):
            snap, report = build(
                articles,
                self.params,
                self.embedder,
                self._embedding_cache(),
                self.settings.embed_batch_size,
                progress,
                sources=tuple(str(p) for p in paths),
            )
            self._snap = commit_snapshot(self.index_dir, snap)
        return report

    # -- reading -------------------------------------------------------------------------

    def sentence_similarity(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each sentence to the question (sentence vectors are cached)."""
        query = self.retriever.embed_query(normalize(question))
        vectors, _ = embed_with_cache(
            self.embedder, self._embedding_cache(), sentences, self.settings.embed_batch_size
        )
        return vectors @ query

    def check_text(self, text: str, what: str = "question") -> str:
        if not isinstance(text, str) or not text.strip():
            raise InvalidQueryError(f"{what} is empty")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise InvalidQueryError(
                f"{what} is too long ({len(text)} characters; the limit is {limit})"
            )
        return text.strip()

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> SearchResult:
        started = time.perf_counter()
        query = self.check_text(query, "query")
        hits = self.retriever.search(self.snapshot, query, k, mode)
        return SearchResult(query, hits, (time.perf_counter() - started) * 1000)

    def answerer_for(self, mode: AnswerMode | None = None) -> Answerer:
        """The extractive answerer, or the LLM one when configured (``mode=None``: default)."""
        if mode == "extractive":
            return self.answerer
        if mode is None and not self.settings.llm_base_url:
            return self.answerer
        if self._llm is None:
            from rag.answer.llm.answerer import (
                make_llm_answerer,  # imports LangChain only when an LLM is used
            )

            self._llm = make_llm_answerer(self.settings, fallback=self.answerer)
        return self._llm

    def ask(
        self,
        question: str,
        k: int = 5,
        retrieval: Mode = "hybrid",
        mode: AnswerMode | None = None,
    ) -> Answer:
        """Answer ``question`` from the top ``k`` paragraphs; ``mode`` picks the answerer."""
        started = time.perf_counter()
        question = self.check_text(question)
        answerer = self.answerer_for(mode)
        snap = self.snapshot
        hits = self.retriever.search(snap, question, k, retrieval)
        answer = answerer.answer(question, hits, snap)
        return _with_time(answer, started)

    def ask_stream(
        self, question: str, k: int = 5, mode: AnswerMode | None = None
    ) -> Iterator[StreamEvent]:
        """Like :meth:`ask`, as events; input is checked before the first event is produced."""
        started = time.perf_counter()
        question = self.check_text(question)
        answerer = self.answerer_for(mode)
        snap = self.snapshot

        def events() -> Iterator[StreamEvent]:
            hits = self.retriever.search(snap, question, k)
            for event in answerer.stream(question, hits, snap):
                if event.kind == "done" and event.answer is not None:
                    event = replace(event, answer=_with_time(event.answer, started))
                yield event

        return events()

    def documents(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Article]]:
        articles = list(self.snapshot.articles.values())
        return len(articles), articles[offset : offset + limit]

    def document(self, doc_id: str) -> Article:
        article = self.snapshot.articles.get(doc_id)
        if article is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        return article

    # -- writing -------------------------------------------------------------------------

    def add_document(
        self,
        title: str,
        text: str,
        doc_id: str | None = None,
        progress: ProgressFactory | None = None,
    ) -> Article:
        """Parse, chunk, embed and persist one document; the same id again replaces it."""
        limit = self.settings.max_document_chars
        if len(text) > limit:
            raise InvalidQueryError(
                f"document text is too long ({len(text)} characters; the limit is {limit})"
            )
        doc_id = doc_id if doc_id is not None else content_id(title, text)
        article = parse_plain(text, doc_id, "api", title=title)
        if not article.paragraphs:
            raise InvalidQueryError("document text has no paragraphs")
        self._update([article], set(), progress)
        return article

    def delete_document(self, doc_id: str) -> None:
        with self._write_lock:
            if doc_id not in self.snapshot.articles:
                raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        self._update([], {doc_id}, None)

    def _update(
        self, articles: list[Article], remove: set[str], progress: ProgressFactory | None
    ) -> None:
        with self._write_lock, writer_lock(self.index_dir):
            # Re-read the manifest's snapshot only if another process committed meanwhile.
            current = self.snapshot
            missing = remove - set(current.articles)
            if missing:
                raise DocumentNotFoundError(f"no document with id {sorted(missing)[0]!r}")
            new = replace_documents(
                current,
                articles,
                remove,
                self.embedder,
                self._embedding_cache(),
                self.settings.embed_batch_size,
                progress,
            )
            self._snap = commit_snapshot(self.index_dir, new)


def _with_time(answer: Answer, started: float) -> Answer:
    return replace(answer, took_ms=(time.perf_counter() - started) * 1000)
