"""The library's front door: one object that indexes, searches, answers and updates.

The CLI and the HTTP service are thin layers over :class:`RagEngine`. It reads and writes
through a :class:`~rag.index.store.Store`: a write embeds only what changed and commits it
as one transaction, so readers (in this process or another) see the index before or after a
write, never half of one.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from rag.answer.reader.reader import ExtractiveAnswerer
from rag.answer.types import Answer, Answerer, AnswerMode, StreamEvent
from rag.config import Settings
from rag.errors import CorpusError, DocumentNotFoundError, IndexNotFoundError, InvalidQueryError
from rag.index.batching import batched
from rag.index.embeddings import (
    Embedder,
    EmbeddingCache,
    embed_with_cache,
    make_embedder,
    vector_space,
)
from rag.index.factory import open_store, remove_store
from rag.index.indexing import BuildReport, Prepared, ProgressFactory, prepare
from rag.index.local import CACHE_FILE
from rag.index.store import IndexParams, Store
from rag.ingest.chunking import ChunkParams
from rag.ingest.corpus import (
    SourceFile,
    content_id,
    load_file,
    parse_plain,
    scan_corpus,
    unique_articles,
)
from rag.ingest.documents import Article
from rag.ingest.ids import normalize_doc_id
from rag.ingest.sources import load_bytes
from rag.responses import SearchResponse
from rag.search.retrieval import Hit, Mode, RetrievalParams, Retriever
from rag.text.chars import has_han
from rag.text.normalize import normalize
from rag.text.unicode import has_visible_text, require_unicode


@dataclass(frozen=True)
class SearchResult:
    """The hits for one query, best first, and how long the search took."""

    query: str
    hits: list[Hit]
    took_ms: float

    def to_json(self) -> dict[str, Any]:
        """What ``rag search --json`` prints and ``POST /search`` returns (``rag.responses``)."""
        return SearchResponse.of(self).to_json()


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
        self.embedder = embedder or batched(make_embedder(settings.embedder), settings)
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
            vector_space=vector_space(self.embedder.name),
        )
        self._store: Store | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._compacting = threading.Lock()
        self._compaction: threading.Thread | None = None  # the last one started
        self._cache: EmbeddingCache | None = None
        self._llm: Answerer | None = None

    # -- index lifecycle -----------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The index, opened on first use."""
        store = self._store
        if store is None:
            with self._load_lock:
                if self._store is None:
                    self._store = open_store(self.settings, self.params)
                store = self._store
        return store

    def has_index(self) -> bool:
        if self._store is not None:
            return True
        try:
            _ = self.store
        except IndexNotFoundError:
            return False
        return True

    def reload(self) -> Store:
        """Pick up what other processes committed (searches also do this by themselves)."""
        self.store.refresh()
        return self.store

    def close(self) -> None:
        """Close this thread's connections to the index and the embedding cache, once a
        compaction this engine started has finished: a command that ends right after its
        write (``rag add``) would otherwise kill it, and uncompacted batches pile up."""
        compaction = self._compaction
        if compaction is not None:
            compaction.join()
        with self._load_lock:
            if self._store is not None:
                self._store.close()
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    def _embedding_cache(self) -> EmbeddingCache:
        # Readers reach this too (sentence_similarity): open one connection, not one per racer.
        with self._load_lock:
            if self._cache is None:
                self._cache = EmbeddingCache(self.index_dir / CACHE_FILE, self.embedder)
            return self._cache

    def _writable(self) -> Store:
        with self._load_lock:
            if self._store is None:
                self._store = open_store(self.settings, self.params, create=True)
            return self._store

    def build(
        self,
        corpus: Sequence[Path] | None = None,
        progress: ProgressFactory | None = None,
        rebuild: bool = False,
    ) -> BuildReport:
        """Bring the index in line with ``corpus`` (default: the configured corpus).

        Files added, changed or removed since the last build are the only ones read and
        embedded; documents that came from elsewhere (the API, other folders) stay.
        ``rebuild`` starts from an empty index, also when the settings changed.
        """
        started = time.perf_counter()
        paths = list(corpus or self.settings.corpus)
        found = scan_corpus(paths)  # fails before anything on disk is touched
        files = list(found.files)
        with self._write_lock:
            stored = {} if rebuild else self._writable().origins()
            changed = [f for f in files if stored.get(str(f.path)) != f.digest]
            gone = {
                o
                for o in set(stored) - {str(f.path) for f in files}
                if any(_under(o, p) for p in paths)
            }
            articles, origins, failed = _load(changed)
            # Files the scan already refused (empty, a format we do not read) are skipped too.
            skipped = [str(s) for s in found.skipped] + [line for _, line in failed]
            if skipped and len(failed) == len(files):
                raise CorpusError("; ".join(skipped))  # nothing of this corpus could be read
            if not stored and not any(a.paragraphs for a in articles):
                shown = ", ".join(str(p) for p in paths)
                raise CorpusError(f"corpus is empty: no text found in {shown}")
            prepared = self._prepare(articles, origins, progress)
            if rebuild:  # only now: a corpus that fails to load leaves the old index
                self._drop_store()
            store = self._writable()
            # A file that was indexed and now cannot be read keeps its last good version.
            bad = {f for f, _ in failed}
            read = [f for f in changed if f not in bad]
            remove = {d for f in read for d in store.origin_documents(str(f.path))}
            remove |= {d for o in gone for d in store.origin_documents(o)}
            if prepared.documents or remove:
                store.write(prepared.documents, remove)
                store.compact()
            stats = store.stats()
        return BuildReport(
            documents=stats.documents,
            paragraphs=stats.paragraphs,
            chunks=stats.chunks,
            embedded=prepared.embedded,
            seconds=time.perf_counter() - started,
            embed_seconds=prepared.embed_seconds,
            added=sum(1 for f in read if str(f.path) not in stored),
            updated=sum(1 for f in read if str(f.path) in stored),
            removed=len(gone),
            unchanged=len(files) - len(changed),
            skipped=tuple(skipped),
            written=prepared.chunks,
        )

    def _drop_store(self) -> None:
        with self._load_lock:
            if self._store is not None:
                self._store.close()
            self._store = None
        remove_store(self.settings)

    def compact(self) -> None:
        """Merge write batches and drop deleted entries (``rag compact``)."""
        with self._write_lock:
            self._writable().compact()

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
        require_unicode(text, what)
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise InvalidQueryError(
                f"{what} is too long ({len(text)} characters; the limit is {limit})"
            )
        return text.strip()

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> SearchResult:
        started = time.perf_counter()
        query = self.check_text(query, "query")
        hits = self.retriever.search(self.store, query, k, mode)
        return SearchResult(query, hits, (time.perf_counter() - started) * 1000)

    async def search_async(self, query: str, k: int = 5, mode: Mode = "hybrid") -> SearchResult:
        """:meth:`search` for an event loop (the HTTP service): the query's embedding is
        awaited, the model running on the embedder's workers; the index search itself, a
        millisecond or two, runs on the loop. A request handed to a worker thread instead
        costs the server more CPU than the search (thread hand-offs, 40 threads contending
        for the interpreter)."""
        started = time.perf_counter()
        query = self.check_text(query, "query")
        store = self.store
        vector = await self._vector_async(query, k, mode)
        hits = self.retriever.search(store, query, k, mode, vector=vector)
        return SearchResult(query, hits, (time.perf_counter() - started) * 1000)

    async def _vector_async(self, text: str, k: int, mode: Mode) -> np.ndarray | None:
        """The query vector a search in ``mode`` needs, awaited; None when it needs none."""
        if mode == "bm25" or k <= 0:
            return None
        return await self.retriever.embed_query_async(normalize(text))

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
        answer = self._answer(question, k, retrieval, self.answerer_for(mode), None)
        return _with_time(answer, started)

    def _answer(
        self,
        question: str,
        k: int,
        retrieval: Mode,
        answerer: Answerer,
        vector: np.ndarray | None,
    ) -> Answer:
        store = self.store
        hits = self.retriever.search(store, question, k, retrieval, vector=vector)
        return answerer.answer(question, hits, store)

    async def ask_async(
        self,
        question: str,
        k: int = 5,
        retrieval: Mode = "hybrid",
        mode: AnswerMode | None = None,
    ) -> Answer:
        """:meth:`ask` for an event loop: the question's embedding is awaited from the
        embedder's workers (as in :meth:`search_async`). The extractive reader on a Chinese
        question, a few milliseconds of Python, then runs on the loop: handed to a thread it
        cost the server more (at concurrency 32 on two cores, 11-13 against 8 ms of CPU a
        request, 100-130 against 175-185 requests/s). An English question's reader embeds
        its candidate sentences, and an LLM answers over the network: those run on a thread."""
        started = time.perf_counter()
        question = self.check_text(question)
        answerer = self.answerer_for(mode)
        vector = await self._vector_async(question, k, retrieval)
        args = (question, k, retrieval, answerer, vector)
        if answerer is self.answerer and has_han(question):
            return _with_time(self._answer(*args), started)
        return _with_time(await asyncio.to_thread(self._answer, *args), started)

    def ask_stream(
        self, question: str, k: int = 5, mode: AnswerMode | None = None
    ) -> Iterator[StreamEvent]:
        """Like :meth:`ask`, as events; input is checked before the first event is produced."""
        started = time.perf_counter()
        question = self.check_text(question)
        answerer = self.answerer_for(mode)
        store = self.store

        def events() -> Iterator[StreamEvent]:
            hits = self.retriever.search(store, question, k)
            for event in answerer.stream(question, hits, store):
                if event.kind == "done" and event.answer is not None:
                    event = replace(event, answer=_with_time(event.answer, started))
                yield event

        return events()

    def documents(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Article]]:
        return self.store.articles(offset, limit)

    def document(self, doc_id: str) -> Article:
        article = self.store.article(self._known_id(doc_id))
        if article is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        return article

    def _known_id(self, doc_id: str) -> str:
        """``doc_id`` in normal form; as given when only that is indexed (an index built before
        ids were normalised), so such a document can still be opened and deleted."""
        if self.store.article(doc_id) is not None:
            return doc_id
        return normalize_doc_id(doc_id)

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
        for value, what in ((title, "document title"), (text, "document text")):
            require_unicode(value, what)
            if not has_visible_text(value):
                raise InvalidQueryError(f"{what} has no visible characters")
        doc_id = normalize_doc_id(doc_id) if doc_id is not None else content_id(title, text)
        article = parse_plain(text, doc_id, "api", title=title)
        if not article.paragraphs:
            raise InvalidQueryError("document text has no paragraphs")
        self._write([article], set(), {}, progress)
        return article

    def add_file(
        self,
        data: bytes,
        name: str,
        doc_id: str | None = None,
        title: str | None = None,
        progress: ProgressFactory | None = None,
    ) -> Article:
        """Load one file (format from its content), then index it like :meth:`add_document`.

        The id defaults to the file name without suffix, as ``rag index`` names a file, so
        uploading the same file again replaces it.
        """
        doc_id = normalize_doc_id(doc_id if doc_id is not None else PurePath(name).stem or "upload")
        articles = load_bytes(data, name, doc_id, f"upload:{name}")
        if len(articles) != 1:
            raise InvalidQueryError(
                f"{name} holds {len(articles)} documents; upload one document per request "
                "(or index the file with `rag index`)"
            )
        article = articles[0] if title is None else replace(articles[0], title=title)
        chars = sum(len(p.text) for p in article.paragraphs)
        limit = self.settings.max_document_chars
        if chars > limit:
            raise InvalidQueryError(
                f"document text is too long ({chars} characters; the limit is {limit})"
            )
        self._write([article], set(), {}, progress)
        return article

    def add_files(
        self, paths: Sequence[Path], progress: ProgressFactory | None = None
    ) -> list[Article]:
        """Index the documents of ``paths`` (``rag add``); a file indexed before is replaced."""
        found = scan_corpus(paths)
        if found.skipped and not found.files:  # `rag add report.doc`: say why, not "no text"
            raise CorpusError("; ".join(str(s) for s in found.skipped))
        files = list(found.files)
        loaded = [(f, load_file(f)) for f in files]
        articles = unique_articles([a for _, found in loaded for a in found])
        if not any(a.paragraphs for a in articles):
            raise CorpusError(f"no text found in {', '.join(str(p) for p in paths)}")
        origins = {a.doc_id: (str(f.path), f.digest) for f, found in loaded for a in found}
        with self._write_lock:
            store = self._writable()
            replaced = {d for f in files for d in store.origin_documents(str(f.path))}
        self._write(articles, replaced, origins, progress)
        return articles

    def delete_document(self, doc_id: str) -> None:
        self.delete_documents([doc_id])

    def documents_named(self, names: Sequence[str]) -> list[str]:
        """The document ids ``names`` stand for (``rag delete``): each an id, or else the path
        of a file indexed before, standing for every document that file gave. A name that is
        neither is kept as it is, so deleting it reports the unknown id."""
        out: list[str] = []
        for name in names:
            try:
                known = self.store.article(self._known_id(name)) is not None
            except InvalidQueryError:
                known = False  # not an id; a path, perhaps (else deleting it says why)
            if known:
                out.append(name)
                continue
            path = Path(name)
            forms = dict.fromkeys((name, str(path), str(path.resolve()), os.path.relpath(path)))
            found = next((docs for f in forms if (docs := self.store.origin_documents(f))), [])
            out.extend(found or [name])
        return list(dict.fromkeys(out))

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Delete documents by id; an unknown id is an error and nothing is deleted."""
        doc_ids = [self._known_id(d) for d in doc_ids]
        with self._write_lock:
            missing = [d for d in doc_ids if self.store.article(d) is None]
            if missing:
                raise DocumentNotFoundError(f"no document with id {missing[0]!r}")
            self.store.write([], set(doc_ids))
        self._maybe_compact()

    def _write(
        self,
        articles: list[Article],
        remove: set[str],
        origins: dict[str, tuple[str, str]],
        progress: ProgressFactory | None,
    ) -> None:
        prepared = self._prepare(articles, origins, progress)
        with self._write_lock:
            self._writable().write(prepared.documents, remove)
        self._maybe_compact()

    def _prepare(
        self,
        articles: list[Article],
        origins: dict[str, tuple[str, str]],
        progress: ProgressFactory | None,
    ) -> Prepared:
        """Chunk, tokenise and embed (through the cache) what a write will store."""
        return prepare(
            articles,
            self.params.chunking,
            self.embedder,
            self._embedding_cache(),
            self.settings.embed_batch_size,
            progress,
            origins,
        )

    def _maybe_compact(self) -> None:
        """Compact in the background once enough writes have piled up; one at a time."""
        store = self._store
        if store is None or not store.needs_compaction():
            return
        if self._compacting.acquire(blocking=False):

            def run() -> None:
                try:
                    store.compact()
                finally:
                    self._compacting.release()

            self._compaction = threading.Thread(target=run, name="rag-compact", daemon=True)
            self._compaction.start()


def _load(
    files: Sequence[SourceFile],
) -> tuple[list[Article], dict[str, tuple[str, str]], list[tuple[SourceFile, str]]]:
    """The articles of ``files``, the file and digest each came from, and the files that could
    not be read with one line each (skipped, so the rest of the corpus is indexed)."""
    articles: list[Article] = []
    origins: dict[str, tuple[str, str]] = {}
    failed: list[tuple[SourceFile, str]] = []
    for f in files:
        try:
            loaded = load_file(f)
        except CorpusError as exc:
            failed.append((f, str(exc)))
            continue
        articles.extend(loaded)
        origins.update((a.doc_id, (str(f.path), f.digest)) for a in loaded)
    return unique_articles(articles), origins, failed


def _under(origin: str, root: Path) -> bool:
    """Whether the corpus file ``origin`` is ``root`` or lies under the directory ``root``."""
    path = Path(origin)
    return path == root or root in path.parents


def _with_time(answer: Answer, started: float) -> Answer:
    return replace(answer, took_ms=(time.perf_counter() - started) * 1000)
