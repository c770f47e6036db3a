"""The Milvus store: chunks, vectors and BM25 in Milvus (Lite file or server), one client.

The same :class:`pymilvus.MilvusClient` code serves a Milvus Lite file (``RAG_MILVUS_URI`` a
path ending in ``.db``) and a standalone or distributed server (``http(s)://host:19530``).
The rows are laid out in :mod:`rag.index.milvus_schema`. The index directory keeps the
embedding cache and ``milvus.json``, the record of the settings the collection was built
with; the meta row in Milvus holds the same record, so every process that opens the
collection checks it, wherever its index directory is.

Reads and writes use one consistency level (``RAG_MILVUS_CONSISTENCY``, default ``Strong``):
with it a document is searchable as soon as its write returned, from any process, at the
cost of each search waiting until the server has applied every earlier write.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from rag.errors import IndexMismatchError, IndexNotFoundError, RagError, StoreUnavailableError
from rag.index import milvus_schema as ms
from rag.index.lexical import UNSEEN, idf, unseen_idf
from rag.index.store import IndexedDocument, IndexParams, ScoredChunk, StoreStats
from rag.ingest.chunking import Chunk
from rag.ingest.documents import Article

FORMAT = "rag-zh-milvus/1"
RECORD_FILE = "milvus.json"
_BATCH = 500  # rows per insert/upsert/delete call, well inside the 64 MB gRPC message bound
_PAGE = 1_000  # rows per page when a query reads everything that matches
_QUERY_LIMIT = 16_384  # Milvus's bound on the rows of one query


@dataclass(frozen=True)
class MilvusConfig:
    """Where the collections live and how to reach them."""

    uri: str
    token: str | None = None
    collection: str = "rag_zh"
    consistency: str = "Strong"
    timeout: float = 10.0

    @property
    def server(self) -> bool:
        return self.uri.startswith(("http://", "https://"))

    @property
    def records(self) -> str:
        return f"{self.collection}_records"

    @property
    def terms(self) -> str:
        return f"{self.collection}_terms"

    @property
    def collections(self) -> tuple[str, str, str]:
        return (self.collection, self.records, self.terms)


@contextlib.contextmanager
def _calls(config: MilvusConfig) -> Iterator[None]:
    """Turn a failure of the Milvus client (refused, unreachable, timed out, file locked by
    another process) into one :class:`StoreUnavailableError` line; a bug stays a bug."""
    try:
        yield
    except RagError:
        raise
    except Exception as exc:
        module = type(exc).__module__
        milvus = isinstance(exc, MilvusException | ConnectionError | TimeoutError)
        if not (milvus or module.startswith(("grpc", "milvus_lite"))):
            raise
        reason = " ".join(str(getattr(exc, "message", "") or exc).split())[:300]
        if not config.server and "Open local milvus failed" in reason:
            raise StoreUnavailableError(
                f"Milvus Lite file {config.uri} cannot be opened: another process has it open "
                "(Lite serves one process per file; stop it, or use a Milvus server)"
            ) from exc
        raise StoreUnavailableError(
            f"Milvus at {config.uri} failed ({type(exc).__name__}: {reason}); check that it "
            "is running and RAG_MILVUS_URI / RAG_MILVUS_TOKEN"
        ) from exc


class MilvusStore:
    """The :class:`~rag.index.store.Store` over two Milvus collections; see the module doc."""

    def __init__(self, config: MilvusConfig, index_dir: Path, params: IndexParams) -> None:
        self.config = config
        self.index_dir = Path(index_dir)
        self.params = params
        self._client: Any = None
        self._lock = threading.Lock()
        self._version = ""
        self._last_seq = 0

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls, config: MilvusConfig, index_dir: Path, params: IndexParams, *, create: bool = False
    ) -> MilvusStore:
        """Connect and check the collection's settings; ``create`` makes it when absent."""
        # pymilvus and Milvus Lite log each failure with a traceback; our error is one line.
        for name in ("pymilvus", "milvus_lite"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        store = cls(config, index_dir, params)
        with _calls(config):
            client = store._c
            exists = client.has_collection(config.collection)
            if not exists and not create:
                raise IndexNotFoundError(
                    f"no collection {config.collection!r} in Milvus at {config.uri}: "
                    "build one with `rag index`"
                )
            if not exists:
                store._create()
            for name in config.collections:
                client.load_collection(name)  # a reopened collection starts released
            store.params = store._stored_params()
            store.params.check(params, f"Milvus collection {config.collection!r}")
            store._write_record()
            store._version = store._meta().get("version", "")
        return store

    @property
    def _c(self) -> Any:
        """The client, connected on first use (again after :meth:`close`)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    uri = self.config.uri
                    if not self.config.server:
                        Path(uri).parent.mkdir(parents=True, exist_ok=True)
                    self._client = MilvusClient(
                        uri=uri, token=self.config.token or "", timeout=self.config.timeout
                    )
        return self._client

    def _create(self) -> None:
        c, cfg = self._c, self.config
        bm25 = self.params.bm25
        for name, schema in ((cfg.records, ms.record_schema(c)), (cfg.terms, ms.term_schema(c))):
            c.create_collection(
                name,
                schema=schema,
                index_params=ms.constant_index(c),
                consistency_level=cfg.consistency,
            )
        c.create_collection(
            cfg.collection,
            schema=ms.chunk_schema(c, self.params.dim),
            index_params=ms.chunk_index(c, bm25.k1, bm25.b),
            consistency_level=cfg.consistency,
        )
        self._set_meta(
            format=FORMAT, params=self.params.to_json(), version=_new_version(), paragraphs=0
        )

    def _stored_params(self) -> IndexParams:
        where = f"Milvus collection {self.config.collection!r} at {self.config.uri}"
        try:
            record = self._meta()
            if record.get("format") != FORMAT:
                raise IndexMismatchError(
                    f"{where} has format {record.get('format')!r}, this version reads "
                    f"{FORMAT!r}; rebuild it with `rag index --rebuild`"
                )
            return IndexParams.from_json(record["params"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexMismatchError(
                f"{where} was not made by rag-zh ({exc}); choose another RAG_MILVUS_COLLECTION "
                "or rebuild with `rag index --rebuild`"
            ) from exc

    def _write_record(self) -> None:
        """The local record of what this index directory is served from and with."""
        record = {
            "format": FORMAT,
            "uri": self.config.uri,
            "collection": self.config.collection,
            "params": self.params.to_json(),
        }
        path = self.index_dir / RECORD_FILE
        self.index_dir.mkdir(parents=True, exist_ok=True)
        if path.exists() and json.loads(path.read_text()) == record:
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2))
        tmp.replace(path)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    @staticmethod
    def remove(config: MilvusConfig, index_dir: Path) -> None:
        """Drop both collections and the local record, for a rebuild with new settings."""
        store = MilvusStore(config, index_dir, IndexParams("", 0))
        with _calls(config):
            for name in config.collections:
                if store._c.has_collection(name):
                    store._c.drop_collection(name)
        store.close()
        (Path(index_dir) / RECORD_FILE).unlink(missing_ok=True)

    # -- low-level reads -------------------------------------------------------------------

    def _query(self, collection: str, filter: str, fields: list[str]) -> list[dict[str, Any]]:
        """The rows matching ``filter`` when they are known to be few (one document's)."""
        with _calls(self.config):
            rows: list[dict[str, Any]] = self._c.query(
                collection,
                filter=filter,
                output_fields=fields,
                limit=_QUERY_LIMIT,
                consistency_level=self.config.consistency,
            )
        return rows

    def _scan(self, collection: str, filter: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row matching ``filter``: one query when they fit in one, else an iterator
        (which costs a round trip more, and on Milvus Lite logs a harmless server error)."""
        first = self._query(collection, filter, fields)
        if len(first) < _QUERY_LIMIT:
            return first
        rows: list[dict[str, Any]] = []
        with _calls(self.config):
            it = self._c.query_iterator(
                collection,
                batch_size=_PAGE,
                filter=filter,
                output_fields=fields,
                consistency_level=self.config.consistency,
            )
            try:
                while page := it.next():
                    rows.extend(page)
            finally:
                it.close()
        return rows

    def _count(self, collection: str, filter: str = "") -> int:
        with _calls(self.config):
            rows = self._c.query(
                collection,
                filter=filter,
                output_fields=["count(*)"],
                consistency_level=self.config.consistency,
            )
        return int(rows[0]["count(*)"]) if rows else 0

    def _get(self, collection: str, ids: Sequence[str], fields: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with _calls(self.config):
            for i in range(0, len(ids), _BATCH):
                out.extend(
                    self._c.get(collection, ids=list(ids[i : i + _BATCH]), output_fields=fields)
                )
        return out

    def _meta(self) -> dict[str, Any]:
        rows = self._get(self.config.records, [ms.META_ID], ["body"])
        return json.loads(rows[0]["body"]) if rows else {}

    def _set_meta(self, **values: Any) -> None:
        """Update the meta row (format, settings, version, paragraph count)."""
        values = {**self._meta(), **values}
        row = {
            "rid": ms.META_ID,
            "doc_id": "",
            "part": -1,
            "seq": 0,
            "paragraphs": 0,
            "origin": "",
            "digest": "",
            "body": json.dumps(values),
            "vec": ms.RECORD_VECTOR,
        }
        with _calls(self.config):
            self._c.upsert(self.config.records, [row])

    # -- reading ---------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        meta = self._meta()
        self._version = str(meta.get("version", ""))
        return StoreStats(
            documents=self._count(self.config.records, "part == 0"),
            paragraphs=int(meta.get("paragraphs", 0)),
            chunks=self._count(self.config.collection),
            version=self._version,
        )

    def dense_search(self, vector: np.ndarray, k: int) -> list[ScoredChunk]:
        if k <= 0:
            return []
        with _calls(self.config):
            found = self._c.search(
                self.config.collection,
                data=[np.asarray(vector, dtype=np.float32).tolist()],
                anns_field="dense",
                limit=k,
                output_fields=ms.CHUNK_FIELDS,
                search_params={"metric_type": "IP"},
                consistency_level=self.config.consistency,
            )
        return [_scored(hit, float(hit["distance"])) for hit in found[0]]

    def lexical_search(self, tokens: Sequence[str], k: int) -> list[ScoredChunk]:
        """BM25 over the ``lexical`` field; the server re-tokenises the query with its jieba
        analyser, so our tokens go in as one space-joined text."""
        query = " ".join(t for t in tokens if t.strip())
        if not query or k <= 0:
            return []
        with _calls(self.config):
            found = self._c.search(
                self.config.collection,
                data=[query],
                anns_field="sparse",
                limit=k,
                output_fields=ms.CHUNK_FIELDS,
                search_params={"metric_type": "BM25"},
                consistency_level=self.config.consistency,
            )
        # Milvus Lite reports BM25 as a negated distance, servers as the score: both are |score|.
        hits = [_scored(hit, abs(float(hit["distance"]))) for hit in found[0]]
        return [h for h in hits if h.score > 0]

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        """From the document frequencies of our own tokens kept in ``<name>_terms``, so the
        table equals the local store's."""
        n = self._count(self.config.collection)
        wanted = list(dict.fromkeys(t for t in tokens if t))
        rows = self._get(self.config.terms, wanted, ["term", "df"])
        table = {r["term"]: idf(int(r["df"]), max(n, 1)) for r in rows if int(r["df"]) > 0}
        table[UNSEEN] = unseen_idf(n)
        return table

    def article(self, doc_id: str) -> Article | None:
        rows = self._query(
            self.config.records, f"doc_id == {ms.literal(doc_id)} and part >= 0", ["part", "body"]
        )
        return ms.to_article(doc_id, rows) if rows else None

    def articles(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Article]]:
        heads = self._scan(self.config.records, "part == 0", ["doc_id", "seq"])
        heads.sort(key=lambda r: (r["seq"], r["doc_id"]))
        page = [self.article(r["doc_id"]) for r in heads[offset : offset + limit]]
        return len(heads), [a for a in page if a is not None]

    def paragraph_chunks(self, doc_id: str, paragraph: int) -> list[Chunk]:
        rows = self._query(
            self.config.collection,
            f"doc_id == {ms.literal(doc_id)} and paragraph == {int(paragraph)}",
            ms.CHUNK_FIELDS,
        )
        return [ms.to_chunk(r) for r in sorted(rows, key=lambda r: (r["off"], r["seq"]))]

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        wanted = list(dict.fromkeys(chunk_ids))
        found = {
            r["chunk_id"]: r["dense"]
            for r in self._get(self.config.collection, wanted, ["chunk_id", "dense"])
        }
        out = np.zeros((len(chunk_ids), self.params.dim), dtype=np.float32)
        for i, cid in enumerate(chunk_ids):
            if cid in found:
                out[i] = np.asarray(found[cid], dtype=np.float32)
        return out

    def iter_chunks(self) -> Iterator[Chunk]:
        rows = self._scan(self.config.collection, "", ms.CHUNK_FIELDS)
        yield from (ms.to_chunk(r) for r in sorted(rows, key=lambda r: r["seq"]))

    def origins(self) -> dict[str, str]:
        rows = self._scan(self.config.records, 'part == 0 and origin != ""', ["origin", "digest"])
        out: dict[str, str] = {}
        for r in rows:
            out[r["origin"]] = min(out.get(r["origin"], r["digest"]), r["digest"])
        return out

    def origin_documents(self, origin: str) -> list[str]:
        rows = self._scan(
            self.config.records, f"part == 0 and origin == {ms.literal(origin)}", ["doc_id", "seq"]
        )
        return [r["doc_id"] for r in sorted(rows, key=lambda r: (r["seq"], r["doc_id"]))]

    # -- writing ---------------------------------------------------------------------------

    def write(self, add: Sequence[IndexedDocument], remove: Iterable[str] = ()) -> StoreStats:
        """Upsert the new rows first, then delete what they do not replace.

        Milvus has no transaction across calls: a reader in between sees the old and the new
        version of a replaced document side by side for a moment, never neither; a crash in
        between leaves the stale chunks until the document is written again.
        """
        adding = {d.article.doc_id for d in add}
        drop = sorted(set(remove) | adding)
        cfg = self.config
        with self._lock:
            before = self._heads(drop)
            old = self._chunk_terms_of(drop)
            chunks: list[dict[str, Any]] = []
            records: list[dict[str, Any]] = []
            for doc in add:
                seq = self._next_seq(len(doc.chunks))
                chunks.extend(ms.chunk_rows(doc, seq))
                records.extend(ms.record_rows(doc, seq))
            with _calls(cfg):
                for i in range(0, len(records), _BATCH):
                    self._c.upsert(cfg.records, records[i : i + _BATCH])
                for i in range(0, len(chunks), _BATCH):
                    self._c.upsert(cfg.collection, chunks[i : i + _BATCH])
                kept_chunks = {r["chunk_id"] for r in chunks}
                stale_chunks = [c for c in old if c not in kept_chunks]
                kept_parts = {r["rid"] for r in records}
                stale_parts = [
                    ms.record_id(d, p)
                    for d, parts in before.items()
                    for p in range(parts[1])
                    if ms.record_id(d, p) not in kept_parts
                ]
                for i in range(0, len(stale_chunks), _BATCH):
                    self._c.delete(cfg.collection, ids=stale_chunks[i : i + _BATCH])
                for i in range(0, len(stale_parts), _BATCH):
                    self._c.delete(cfg.records, ids=stale_parts[i : i + _BATCH])
            self._update_df(old.values(), [t for d in add for t in d.tokens])
            meta = self._meta()
            paragraphs = int(meta.get("paragraphs", 0)) - sum(p for p, _ in before.values())
            paragraphs += sum(len(d.article.paragraphs) for d in add)
            self._set_meta(version=_new_version(), paragraphs=paragraphs)
        return self.stats()

    def _heads(self, doc_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(paragraphs, parts) of each stored document among ``doc_ids``."""
        out: dict[str, tuple[int, int]] = {}
        for i in range(0, len(doc_ids), _BATCH):
            part = doc_ids[i : i + _BATCH]
            for r in self._scan(
                self.config.records,
                f"doc_id in {ms.in_list(part)} and part >= 0",
                ["doc_id", "part", "paragraphs"],
            ):
                paragraphs, parts = out.get(r["doc_id"], (0, 0))
                if r["part"] == 0:
                    paragraphs = int(r["paragraphs"])
                out[r["doc_id"]] = (paragraphs, max(parts, int(r["part"]) + 1))
        return out

    def _chunk_terms_of(self, doc_ids: Sequence[str]) -> dict[str, list[str]]:
        """The tokens of every stored chunk of ``doc_ids``, by chunk id."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(doc_ids), _BATCH):
            part = doc_ids[i : i + _BATCH]
            rows = self._scan(
                self.config.collection, f"doc_id in {ms.in_list(part)}", ["chunk_id", "terms"]
            )
            out.update((r["chunk_id"], json.loads(r["terms"])) for r in rows)
        return out

    def _update_df(self, removed: Iterable[Sequence[str]], added: Iterable[Sequence[str]]) -> None:
        """Document frequencies after the write (a read-modify-write: see the README's limits
        on concurrent writers)."""
        delta: Counter[str] = Counter()
        for tokens in added:
            delta.update(set(tokens))
        for tokens in removed:
            delta.subtract(set(tokens))
        terms = [t for t, d in delta.items() if d]
        if not terms:
            return
        current = {r["term"]: int(r["df"]) for r in self._get(self.config.terms, terms, ["df"])}
        df = {t: current.get(t, 0) + delta[t] for t in terms}
        gone = [t for t, n in df.items() if n <= 0]
        rows = [{"term": t, "df": n, "vec": ms.RECORD_VECTOR} for t, n in df.items() if n > 0]
        with _calls(self.config):
            for i in range(0, len(rows), _BATCH):
                self._c.upsert(self.config.terms, rows[i : i + _BATCH])
            for i in range(0, len(gone), _BATCH):
                self._c.delete(self.config.terms, ids=gone[i : i + _BATCH])

    def _next_seq(self, n: int) -> int:
        """Insertion order that also holds across processes (wall clock, in nanoseconds)."""
        seq = max(time.time_ns(), self._last_seq + 1)
        self._last_seq = seq + n
        return seq

    def refresh(self) -> bool:
        version = str(self._meta().get("version", ""))
        changed = version != self._version
        self._version = version
        return changed

    def needs_compaction(self) -> bool:
        """Never: Milvus merges segments and drops deleted rows by itself."""
        return False

    def compact(self) -> None:
        """Seal what was written so a server persists it (Milvus compacts by itself)."""
        with _calls(self.config):
            for name in self.config.collections:
                self._c.flush(name)


def _scored(hit: dict[str, Any], score: float) -> ScoredChunk:
    entity = hit["entity"]
    return ScoredChunk(ms.to_chunk(entity), score, int(entity["seq"]))


def _new_version() -> str:
    return f"m{time.time_ns():x}"
