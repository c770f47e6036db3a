"""The local store: one SQLite database (WAL) as the source of truth, FAISS as its dense cache.

Layout of an index directory::

    store.sqlite             documents, paragraphs, chunks, their tokens and vectors, BM25 terms
                             and postings, the deletion log, counters (``meta``)
    vectors.<key>.<del>.faiss  the FAISS index as of chunk key <key> and deletion <del>
    embeddings.sqlite        embedding cache (content-hash keyed)
    .lock                    writers take an exclusive flock on it

A write is one SQLite transaction: it appends chunks, one posting list per term, one row of
the document-frequency changes it makes (``df_log``, folded into ``terms`` by compaction and
summed in memory until then), and the chunk count and total length, so it costs what changed,
not what is stored. Deleted chunks are logged; searches skip them until
:meth:`LocalStore.compact` merges the posting lists. A lexical search reads the short posting
lists of its terms and keeps the long ones decoded in memory between searches (they change
only by compaction, which ``meta.compactions`` counts). Every commit bumps ``meta.version``;
a process that sees a new version reads only the chunks and deletions after the ones its
FAISS index holds. A crash leaves the last committed transaction; the FAISS file is a cache,
replaced atomically and rebuilt from the database when it is missing or unreadable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rag.index.lexical import (
    UNSEEN,
    CachedList,
    KeyIndex,
    ListCache,
    LongList,
    Postings,
    idf,
    invert,
    pruned_top_scores,
    score,
    unseen_idf,
)
from rag.index.store import IndexedDocument, IndexParams, ScoredChunk, StoreStats
from rag.index.vectors import AnnParams, VectorIndex
from rag.ingest.chunking import Chunk
from rag.ingest.documents import Article, Paragraph, Piece

FORMAT = "rag-zh-local/4"
# Formats this release upgrades in place when it opens them (under the writers' lock).
# 2 -> 3: posting lists move out of a WITHOUT ROWID table. There a row's whole record sits in
# the b-tree (interior pages too), and after compaction a frequent term's row is megabytes:
# adding one document to 1M chunks took ~130 ms, ~100 of them inserting its posting rows.
_UPGRADES = {
    "rag-zh-local/2": """
        CREATE TABLE postings_v3 (
            term INTEGER NOT NULL, batch INTEGER NOT NULL, ids BLOB NOT NULL, tfs BLOB NOT NULL
        );
        INSERT INTO postings_v3 (term, batch, ids, tfs)
            SELECT term, batch, ids, tfs FROM postings ORDER BY term, batch;
        DROP TABLE postings;
        ALTER TABLE postings_v3 RENAME TO postings;
        CREATE UNIQUE INDEX postings_term_batch ON postings (term, batch);
        UPDATE meta SET value = 'rag-zh-local/3' WHERE key = 'format';
    """,
    # 3 -> 4: document-frequency changes are logged per write (see ``df_log``).
    "rag-zh-local/3": """
        CREATE TABLE IF NOT EXISTS df_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, deltas BLOB NOT NULL
        );
        UPDATE meta SET value = 'rag-zh-local/4' WHERE key = 'format';
    """,
}
DB_FILE = "store.sqlite"
CACHE_FILE = "embeddings.sqlite"
LEGACY_MANIFEST = "manifest.json"  # the format-1 index: JSON generations
# Catching up more vectors than this at open writes a fresh FAISS cache for the next start.
SAVE_AFTER_CATCH_UP = 20_000
# A term's oldest posting list at least this long is kept decoded in memory (up to
# LIST_CACHE_BYTES, 8 bytes a posting) and scored only where a search must (MaxScore).
# Swept 1k-16k on `rag bench-scale`'s 1M-chunk index: 4k and 8k fastest, 8k the better p95.
LONG_LIST = 8192
LIST_CACHE_BYTES = 512 * 2**20
ARTICLE_CACHE = 256  # articles kept read between searches (the answerer reads each hit's)
_IN_BATCH = 900  # SQLite's bound on parameters per statement is 999 on old builds

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    byline TEXT, kicker TEXT, column_name TEXT,
    sections TEXT NOT NULL,
    paragraphs INTEGER NOT NULL,
    origin TEXT NOT NULL,
    digest TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_origin ON documents (origin);
CREATE TABLE IF NOT EXISTS paragraphs (
    doc_id TEXT NOT NULL, idx INTEGER NOT NULL, text TEXT NOT NULL, pieces TEXT NOT NULL,
    kind TEXT NOT NULL, section TEXT, page INTEGER,
    PRIMARY KEY (doc_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL, paragraph INTEGER NOT NULL,
    kind TEXT NOT NULL, section TEXT, title TEXT NOT NULL, text TEXT NOT NULL,
    off INTEGER NOT NULL, src_start INTEGER NOT NULL, src_end INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunk_data (  -- apart, so that chunk rows stay small to read
    key INTEGER PRIMARY KEY, tokens TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_paragraph ON chunks (doc_id, paragraph);
CREATE INDEX IF NOT EXISTS chunks_chunk_id ON chunks (chunk_id);
CREATE TABLE IF NOT EXISTS terms (
    term TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE, df INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS postings (  -- a rowid table: its rows are large (see _UPGRADES)
    term INTEGER NOT NULL, batch INTEGER NOT NULL, ids BLOB NOT NULL, tfs BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS postings_term_batch ON postings (term, batch);
CREATE TABLE IF NOT EXISTS deletions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key INTEGER NOT NULL, terms TEXT NOT NULL
);
-- A write's changes to the df of terms already in ``terms``, one row of (term id, change)
-- pairs, folded into ``terms`` by compaction: updating each term's row in place dirtied a
-- page per term (at 1M chunks, half the pages an added document's commit wrote).
CREATE TABLE IF NOT EXISTS df_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, deltas BLOB NOT NULL);
"""
_COUNTERS = ("version", "documents", "paragraphs", "chunks", "length", "batch", "next_term")
_CHUNK_COLUMNS = (
    "key, chunk_id, doc_id, paragraph, kind, section, title, text, off, src_start, src_end"
)


def _chunk(row: Sequence[Any]) -> Chunk:
    return Chunk(
        chunk_id=row[1],
        doc_id=row[2],
        title=row[6],
        section=row[5],
        paragraph=row[3],
        kind=row[4],
        text=row[7],
        offset=row[8],
        start=row[9],
        end=row[10],
    )


def _meta_int(db: sqlite3.Connection, key: str) -> int:
    """An integer of ``meta`` that older indexes may lack (then 0)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class _DfLog:
    """The df changes logged and not yet folded into ``terms``, as of one index version.

    Replaced, never changed in place: a search reads the version and the changes together.
    """

    version: int = -1
    changes: Mapping[int, int] = field(default_factory=dict)  # term id -> change of its df
    seq: int = 0  # the last ``df_log`` row summed in
    folded: int = 0  # rows up to this one are in ``terms`` (``meta.df_folded``)

    def plus(self, rows: Sequence[tuple[int, bytes]], version: int) -> _DfLog:
        if not rows:
            return replace(self, version=version)
        changes = dict(self.changes)
        for _, blob in rows:
            for term, change in np.frombuffer(blob, dtype=np.int64).reshape(-1, 2).tolist():
                changes[term] = changes.get(term, 0) + change
        return _DfLog(version, changes, int(rows[-1][0]), self.folded)


def _encode_changes(changes: Mapping[int, int]) -> bytes:
    return np.array(sorted(changes.items()), dtype=np.int64).tobytes()


def _batches(items: Sequence[Any], size: int = _IN_BATCH) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class LocalStore:
    """Documents and both search indexes in one directory; see the module docstring."""

    def __init__(self, index_dir: Path, params: IndexParams, ann: AnnParams | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.params = params
        self.ann = ann or AnnParams()
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._state_lock = threading.RLock()  # guards the in-memory view below
        self._version = -1
        self._counters: dict[str, int] = {}
        self._dead: frozenset[int] = frozenset()  # deleted, still in posting lists
        self._dead_array: tuple[frozenset[int], np.ndarray] = (self._dead, np.empty(0, np.int64))
        self._df = _DfLog()
        self._vectors: VectorIndex | None = None
        self._lists = ListCache(LIST_CACHE_BYTES)
        # articles read lately, valid for one version of the index (any write bumps it)
        self._articles: OrderedDict[str, Article] = OrderedDict()
        self._articles_version = -1
        self._articles_lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, index_dir: Path, params: IndexParams, ann: AnnParams | None = None) -> LocalStore:
        """Open an existing index; a missing, foreign or older-format one is a one-line error."""
        index_dir = Path(index_dir)
        if not (index_dir / DB_FILE).exists():
            if (index_dir / LEGACY_MANIFEST).exists():
                raise IndexMismatchError(
                    f"index in {index_dir} was built by an earlier release (format 1); "
                    "rebuild it with `rag index --rebuild`"
                )
            raise IndexNotFoundError(f"no index in {index_dir}: build one with `rag index`")
        store = cls(index_dir, params, ann)
        store._upgrade()
        stored = store._stored_params()
        stored.check(params, str(index_dir))
        store.params = stored
        store._clean_leftovers()
        store.refresh()
        return store

    @classmethod
    def create(
        cls, index_dir: Path, params: IndexParams, ann: AnnParams | None = None
    ) -> LocalStore:
        """Open the index in ``index_dir``, creating an empty one (with ``params``) if absent."""
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        with _file_lock(index_dir):
            if not (index_dir / DB_FILE).exists():
                store = cls(index_dir, params, ann)
                db = store._db()
                db.executescript(_SCHEMA)
                with _transaction(db):
                    db.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        [
                            ("format", FORMAT),
                            ("params", json.dumps(params.to_json())),
                            *((k, "0") for k in _COUNTERS),
                        ],
                    )
                store.close()
        return cls.open(index_dir, params, ann)

    def _upgrade(self) -> None:
        """Bring an index of an earlier format this release knows up to ``FORMAT``."""
        try:
            db = self._db()
            row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError:
            self.close()
            return  # reported by _stored_params
        if row is None or row[0] not in _UPGRADES:
            return
        with _file_lock(self.index_dir), _transaction(db):
            while True:  # one step per format, each read again under the lock
                (format_,) = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                if format_ not in _UPGRADES:
                    break
                for statement in _UPGRADES[format_].split(";"):
                    if statement.strip():
                        db.execute(statement)

    def _stored_params(self) -> IndexParams:
        try:
            meta = dict(self._db().execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != FORMAT:
                raise IndexMismatchError(
                    f"index in {self.index_dir} has format {meta.get('format')!r}, this version "
                    f"reads {FORMAT!r}; rebuild it with `rag index --rebuild`"
                )
            return IndexParams.from_json(json.loads(meta["params"]))
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(
                f"index in {self.index_dir} is unreadable ({exc}); rebuild it with "
                "`rag index --rebuild`"
            ) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(
                f"index in {self.index_dir} has an incomplete record of its settings ({exc}); "
                "rebuild it with `rag index --rebuild`"
            ) from exc

    def _clean_leftovers(self) -> None:
        """Temporary files of a writer that was killed before it could rename them."""
        for stale in self.index_dir.glob(".vectors.*.tmp*"):
            stale.unlink(missing_ok=True)

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections are not shared between threads)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.index_dir / DB_FILE, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives power loss
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- keeping the in-memory view current ----------------------------------------------

    def refresh(self) -> bool:
        db = self._db()
        version = int(db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])
        if version == self._version:
            return False
        with self._state_lock:
            if version == self._version:
                return False
            self._catch_up(db)
        return True

    def _catch_up(self, db: sqlite3.Connection) -> None:
        """Bring the FAISS index, the deletion set and the counters up to the database."""
        with _transaction(db, "BEGIN"):  # one read snapshot for everything below
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            purged = int(meta.get("purged", 0))
            vectors = self._vectors
            if vectors is None or vectors.deletion < purged:
                vectors = VectorIndex.load(self.index_dir, self.params.dim, self.ann)
                if vectors is not None and vectors.deletion < purged:
                    vectors = None  # older than the last compaction: deletions were purged
            if vectors is None:
                vectors = self._rebuild_vectors(db)
            added = self._add_vectors_after(db, vectors)
            deletions = db.execute(
                "SELECT seq, key FROM deletions WHERE seq > ? ORDER BY seq", (vectors.deletion,)
            ).fetchall()
            if deletions:
                keys = np.array([k for _, k in deletions], dtype=np.int64)
                vectors.remove(keys, int(deletions[-1][0]))
            dead = [k for (k,) in db.execute("SELECT key FROM deletions")]
            folded = int(meta.get("df_folded", 0))
            df = self._df if self._df.folded == folded else _DfLog(seq=folded, folded=folded)
            logged = db.execute(
                "SELECT seq, deltas FROM df_log WHERE seq > ? ORDER BY seq", (df.seq,)
            ).fetchall()
        self._vectors = vectors
        self._dead = frozenset(dead)
        self._counters = {k: int(meta[k]) for k in _COUNTERS}
        self._version = self._counters["version"]
        self._df = df.plus(logged, self._version)
        if added > SAVE_AFTER_CATCH_UP:
            vectors.save(self.index_dir)

    def _add_vectors_after(self, db: sqlite3.Connection, vectors: VectorIndex) -> int:
        added = 0
        last = vectors.max_key
        while True:
            rows = db.execute(
                "SELECT key, vector FROM chunk_data WHERE key > ? ORDER BY key LIMIT 10000",
                (last,),
            ).fetchall()
            if not rows:
                return added
            keys = np.array([k for k, _ in rows], dtype=np.int64)
            vectors.add(keys, self._matrix(v for _, v in rows))
            last = int(keys[-1])
            added += len(rows)

    def _matrix(self, blobs: Iterable[bytes]) -> np.ndarray:
        data = b"".join(blobs)
        return np.frombuffer(data, dtype=np.float32).reshape(-1, self.params.dim)

    def _rebuild_vectors(self, db: sqlite3.Connection) -> VectorIndex:
        keys: list[np.ndarray] = []
        mats: list[np.ndarray] = []
        cursor = db.execute("SELECT key, vector FROM chunk_data ORDER BY key")
        for rows in iter(lambda: cursor.fetchmany(20000), []):
            keys.append(np.array([k for k, _ in rows], dtype=np.int64))
            mats.append(self._matrix(v for _, v in rows))
        all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        matrix = np.vstack(mats) if mats else np.zeros((0, self.params.dim), np.float32)
        vectors = VectorIndex.build(self.params.dim, all_keys, matrix, self.ann)
        last = db.execute("SELECT max(seq) FROM deletions").fetchone()[0]
        vectors.deletion = max(int(last or 0), _meta_int(db, "purged"))
        return vectors

    # -- reading ---------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        self.refresh()
        c = self._counters
        return StoreStats(c["documents"], c["paragraphs"], c["chunks"], f"v{c['version']}")

    def dense_search(self, vector: np.ndarray, k: int) -> list[ScoredChunk]:
        self.refresh()
        vectors = self._vectors
        if vectors is None or k <= 0:
            return []
        found = vectors.search(vector, k)
        chunks = self._chunks_by_key([key for key, _ in found])
        return [ScoredChunk(chunks[key], s, key) for key, s in found if key in chunks]

    def lexical_search(self, tokens: Sequence[str], k: int) -> list[ScoredChunk]:
        if not tokens or k <= 0:
            return []
        weights = Counter(tokens)
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        long: list[LongList] = []
        with self._reading() as (db, changes):
            n, length = self._counters.get("chunks", 0), self._counters.get("length", 0)
            if not n:
                return []
            avglen, bm25 = length / n, self.params.bm25
            generation = _meta_int(db, "compactions")  # long lists change only by compaction
            terms = self._terms(db, list(weights), changes)
            by_id = {term_id: (term, df) for term, (term_id, df) in terms.items()}
            # a list read at another average length (a write since) is read again
            cached = {
                t: e
                for t in by_id
                if (e := self._lists.get(t, generation)) is not None and e.avglen == avglen
            }
            rows = self._postings_after(
                db, {t: cached[t].batch if t in cached else -1 for t in by_id}
            )
        for term_id, (term, df) in by_id.items():
            term_idf, count = idf(df, n), weights[term]
            entry = cached.get(term_id)
            rest = rows.get(term_id, [])
            if entry is None and rest and len(rest[0][1].ids) >= LONG_LIST:
                batch, first = rest.pop(0)  # the oldest list: it changes only by compaction
                index = KeyIndex.build(first.ids) if KeyIndex.worth_it(first.ids) else None
                entry = CachedList.of(first, avglen, bm25, batch, index)
                self._lists.put(term_id, generation, entry)
            if entry is not None:
                long.append(LongList.of(entry, term_idf, count))
            if rest:  # the batches after it, one part (their keys ascend batch by batch)
                keys, values = score(Postings.concat([p for _, p in rest]), term_idf, avglen, bm25)
                parts.append((keys, values * count))
        found = pruned_top_scores(parts, long, k, exclude=self._dead_keys())
        chunks = self._chunks_by_key([key for key, _ in found])
        return [ScoredChunk(chunks[key], s, key) for key, s in found if key in chunks]

    @staticmethod
    def _postings_after(
        db: sqlite3.Connection, after: dict[int, int]
    ) -> dict[int, list[tuple[int, Postings]]]:
        """Each term's posting lists of batches after the given one, oldest first."""
        rows: dict[int, list[tuple[int, Postings]]] = {}
        for part in _batches(list(after.items()), _IN_BATCH // 2):
            pairs = ",".join("(?, ?)" for _ in part)
            for term_id, batch, ids, tfs in db.execute(
                f"SELECT p.term, p.batch, p.ids, p.tfs FROM (VALUES {pairs}) AS v "
                "JOIN postings AS p ON p.term = v.column1 AND p.batch > v.column2 "
                "ORDER BY p.term, p.batch",
                [x for pair in part for x in pair],
            ):
                rows.setdefault(term_id, []).append((batch, Postings.decode(ids, tfs)))
        return rows

    def _dead_keys(self) -> np.ndarray:
        """The deleted chunks still in posting lists, as an array (kept until they change)."""
        dead = self._dead
        if self._dead_array[0] is not dead:
            self._dead_array = (dead, np.fromiter(dead, dtype=np.int64, count=len(dead)))
        return self._dead_array[1]

    def idf(self, tokens: Iterable[str]) -> dict[str, float]:
        wanted = list(dict.fromkeys(tokens))
        with self._reading() as (db, changes):
            terms = self._terms(db, wanted, changes)
            n = self._counters.get("chunks", 0)
        table = {t: idf(df, max(n, 1)) for t, (_, df) in terms.items() if df > 0}
        table[UNSEEN] = unseen_idf(n)
        return table

    def _terms(
        self, db: sqlite3.Connection, terms: Sequence[str], changes: Mapping[int, int] | None = None
    ) -> dict[str, tuple[int, int]]:
        """Each known term's id and df (its stored df plus ``changes`` logged since)."""
        changes = changes or {}
        out: dict[str, tuple[int, int]] = {}
        for part in _batches(terms):
            marks = ",".join("?" * len(part))
            for term, term_id, df in db.execute(
                f"SELECT term, id, df FROM terms WHERE term IN ({marks})", list(part)
            ):
                out[term] = (term_id, df + changes.get(term_id, 0))
        return out

    @contextlib.contextmanager
    def _reading(self) -> Iterator[tuple[sqlite3.Connection, Mapping[int, int]]]:
        """A read transaction and the logged df changes, both of the same index version."""
        db = self._db()
        while True:
            self.refresh()
            df = self._df
            with _transaction(db, "BEGIN"):
                if _meta_int(db, "version") == df.version:
                    yield db, df.changes
                    return

    def _chunks_by_key(self, keys: Sequence[int]) -> dict[int, Chunk]:
        out: dict[int, Chunk] = {}
        db = self._db()
        for part in _batches(list(keys)):
            marks = ",".join("?" * len(part))
            for row in db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE key IN ({marks})", list(part)
            ):
                out[row[0]] = _chunk(row)
        return out

    def article(self, doc_id: str) -> Article | None:
        db = self._db()
        with _transaction(db, "BEGIN"):
            version = _meta_int(db, "version")
            with self._articles_lock:
                if version != self._articles_version:
                    self._articles.clear()
                    self._articles_version = version
                cached = self._articles.get(doc_id)
                if cached is not None:
                    self._articles.move_to_end(doc_id)
                    return cached
            article = self._read_article(db, doc_id)
        if article is not None:
            with self._articles_lock:
                if version == self._articles_version:
                    self._articles[doc_id] = article
                    if len(self._articles) > ARTICLE_CACHE:
                        self._articles.popitem(last=False)
        return article

    @staticmethod
    def _read_article(db: sqlite3.Connection, doc_id: str) -> Article | None:
        row = db.execute(
            "SELECT doc_id, title, source, byline, kicker, column_name, sections "
            "FROM documents WHERE doc_id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            return None
        paragraphs = db.execute(
            "SELECT idx, text, pieces, kind, section, page FROM paragraphs "
            "WHERE doc_id = ? ORDER BY idx",
            (doc_id,),
        ).fetchall()
        return Article(
            doc_id=row[0],
            title=row[1],
            source=row[2],
            byline=row[3],
            kicker=row[4],
            column=row[5],
            sections=tuple(json.loads(row[6])),
            paragraphs=tuple(
                Paragraph(
                    doc_id=doc_id,
                    index=idx,
                    text=text,
                    pieces=tuple(Piece(*p) for p in json.loads(pieces)),
                    kind=kind,
                    section=section,
                    page=page,
                )
                for idx, text, pieces, kind, section, page in paragraphs
            ),
        )

    def articles(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Article]]:
        db = self._db()
        with _transaction(db, "BEGIN"):
            total = int(db.execute("SELECT value FROM meta WHERE key = 'documents'").fetchone()[0])
            ids = [
                d
                for (d,) in db.execute(
                    "SELECT doc_id FROM documents ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)
                )
            ]
        found = [self.article(d) for d in ids]
        return total, [a for a in found if a is not None]

    def paragraph_chunks(self, doc_id: str, paragraph: int) -> list[Chunk]:
        rows = self._db().execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? AND paragraph = ? ORDER BY off",
            (doc_id, paragraph),
        )
        return [_chunk(r) for r in rows]

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        found: dict[str, bytes] = {}
        db = self._db()
        for part in _batches(list(dict.fromkeys(chunk_ids))):
            marks = ",".join("?" * len(part))
            found.update(
                db.execute(
                    "SELECT c.chunk_id, d.vector FROM chunks c JOIN chunk_data d USING (key) "
                    f"WHERE c.chunk_id IN ({marks})",
                    list(part),
                ).fetchall()
            )
        out = np.zeros((len(chunk_ids), self.params.dim), dtype=np.float32)
        for i, cid in enumerate(chunk_ids):
            if cid in found:
                out[i] = np.frombuffer(found[cid], dtype=np.float32)
        return out

    def iter_chunks(self) -> Iterator[Chunk]:
        cursor = self._db().execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks ORDER BY key")
        for rows in iter(lambda: cursor.fetchmany(1000), []):
            yield from (_chunk(r) for r in rows)

    def origins(self) -> dict[str, str]:
        rows = self._db().execute(
            "SELECT origin, min(digest) FROM documents WHERE origin != '' GROUP BY origin"
        )
        return dict(rows.fetchall())

    def origin_documents(self, origin: str) -> list[str]:
        rows = self._db().execute(
            "SELECT doc_id FROM documents WHERE origin = ? ORDER BY seq", (origin,)
        )
        return [d for (d,) in rows]

    # -- writing ---------------------------------------------------------------------------

    def write(self, add: Sequence[IndexedDocument], remove: Iterable[str] = ()) -> StoreStats:
        drop = set(remove) | {d.article.doc_id for d in add}
        with self._write_lock, _file_lock(self.index_dir):
            self.refresh()  # apply on top of what other processes committed
            db = self._db()
            with self._state_lock:
                with _transaction(db, "BEGIN IMMEDIATE"):
                    counters = self._read_counters(db)
                    changes: Counter[int] = Counter()  # df of terms already known
                    removed = self._delete(db, sorted(drop), counters, changes)
                    added = self._insert(db, add, counters, changes)
                    counters["version"] += 1
                    counters["batch"] += 1
                    db.executemany(
                        "UPDATE meta SET value = ? WHERE key = ?",
                        [(str(v), k) for k, v in counters.items()],
                    )
                    logged: list[tuple[int, bytes]] = []
                    if nonzero := {t: c for t, c in changes.items() if c}:
                        blob = _encode_changes(nonzero)
                        cur = db.execute("INSERT INTO df_log (deltas) VALUES (?)", (blob,))
                        logged.append((int(cur.lastrowid or 0), blob))
                # Committed: mirror it in memory before any reader can see the new version.
                vectors = self._vectors
                assert vectors is not None
                if removed:
                    vectors.remove(np.array([k for k, _ in removed]), removed[-1][1])
                for keys, doc in added:
                    vectors.add(keys, doc.vectors)
                if removed:
                    self._dead = self._dead | {k for k, _ in removed}
                self._counters = counters
                self._version = counters["version"]
                self._df = self._df.plus(logged, self._version)
        return self.stats()

    def _read_counters(self, db: sqlite3.Connection) -> dict[str, int]:
        marks = ",".join("?" * len(_COUNTERS))
        rows = db.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})", _COUNTERS)
        return {k: int(v) for k, v in rows}

    def _delete(
        self,
        db: sqlite3.Connection,
        doc_ids: Sequence[str],
        counters: dict[str, int],
        changes: Counter[int],
    ) -> list[tuple[int, int]]:
        """Remove documents; returns (chunk key, deletion seq) of every chunk removed."""
        removed: list[tuple[int, int]] = []
        df: Counter[str] = Counter()
        for doc_id in doc_ids:
            row = db.execute(
                "SELECT paragraphs FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
            if row is None:
                continue
            for key, tokens in db.execute(
                "SELECT key, tokens FROM chunk_data WHERE key IN "
                "(SELECT key FROM chunks WHERE doc_id = ?) ORDER BY key",
                (doc_id,),
            ).fetchall():
                toks = json.loads(tokens)
                distinct = sorted(set(toks))
                df.update(distinct)
                cur = db.execute(
                    "INSERT INTO deletions (key, terms) VALUES (?, ?)",
                    (key, json.dumps(distinct, ensure_ascii=False)),
                )
                removed.append((key, int(cur.lastrowid or 0)))
                counters["chunks"] -= 1
                counters["length"] -= len(toks)
            db.execute(
                "DELETE FROM chunk_data WHERE key IN (SELECT key FROM chunks WHERE doc_id = ?)",
                (doc_id,),
            )
            db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM paragraphs WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            counters["documents"] -= 1
            counters["paragraphs"] -= int(row[0])
        for term, (term_id, _) in self._terms(db, list(df)).items():
            changes[term_id] -= df[term]
        return removed

    def _insert(
        self,
        db: sqlite3.Connection,
        docs: Sequence[IndexedDocument],
        counters: dict[str, int],
        changes: Counter[int],
    ) -> list[tuple[np.ndarray, IndexedDocument]]:
        """Append documents; returns the chunk keys given to each one's vectors."""
        out: list[tuple[np.ndarray, IndexedDocument]] = []
        all_keys: list[int] = []
        all_tokens: list[tuple[str, ...]] = []
        chunk_rows: list[tuple[Any, ...]] = []
        data_rows: list[tuple[int, str, bytes]] = []
        # Keys are never reused (AUTOINCREMENT): FAISS and the deletion log name chunks by them.
        # The writer holds the lock, so it can number the new chunks itself.
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'").fetchone()
        next_key = max(int(row[0]) if row else 0, self._max_key(db)) + 1
        for doc in docs:
            a = doc.article
            db.execute(
                "INSERT INTO documents (doc_id, title, source, byline, kicker, column_name, "
                "sections, paragraphs, origin, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a.doc_id,
                    a.title,
                    a.source,
                    a.byline,
                    a.kicker,
                    a.column,
                    json.dumps(list(a.sections), ensure_ascii=False),
                    len(a.paragraphs),
                    doc.origin,
                    doc.digest,
                ),
            )
            db.executemany(
                "INSERT INTO paragraphs (doc_id, idx, text, pieces, kind, section, page) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        a.doc_id,
                        p.index,
                        p.text,
                        json.dumps([[x.offset, x.start, x.end] for x in p.pieces]),
                        p.kind,
                        p.section,
                        p.page,
                    )
                    for p in a.paragraphs
                ],
            )
            vectors = np.asarray(doc.vectors, dtype=np.float32).reshape(-1, self.params.dim)
            keys = list(range(next_key, next_key + len(doc.chunks)))
            next_key += len(keys)
            chunk_rows.extend(
                (
                    key,
                    c.chunk_id,
                    c.doc_id,
                    c.paragraph,
                    c.kind,
                    c.section,
                    c.title,
                    c.text,
                    c.offset,
                    c.start,
                    c.end,
                )
                for key, c in zip(keys, doc.chunks, strict=True)
            )
            data_rows.extend(
                (key, json.dumps(list(toks), ensure_ascii=False), vec.tobytes())
                for key, toks, vec in zip(keys, doc.tokens, vectors, strict=True)
            )
            counters["length"] += sum(len(toks) for toks in doc.tokens)
            counters["chunks"] += len(keys)
            counters["documents"] += 1
            counters["paragraphs"] += len(a.paragraphs)
            all_keys.extend(keys)
            all_tokens.extend(doc.tokens)
            out.append((np.array(keys, dtype=np.int64), doc))
        db.executemany(
            "INSERT INTO chunks (key, chunk_id, doc_id, paragraph, kind, section, title, text, "
            "off, src_start, src_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            chunk_rows,
        )
        db.executemany("INSERT INTO chunk_data (key, tokens, vector) VALUES (?, ?, ?)", data_rows)
        self._append_postings(db, all_keys, all_tokens, counters, changes)
        return out

    @staticmethod
    def _max_key(db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT coalesce(max(key), 0) FROM chunks").fetchone()[0])

    def _append_postings(
        self,
        db: sqlite3.Connection,
        keys: Sequence[int],
        tokens: Sequence[Sequence[str]],
        counters: dict[str, int],
        changes: Counter[int],
    ) -> None:
        if not keys:
            return
        postings, df = invert(keys, [t if t else ("\x00",) for t in tokens])
        known = self._terms(db, list(postings))
        fresh = [t for t in postings if t not in known]
        next_id = counters["next_term"]
        ids = {t: v[0] for t, v in known.items()}
        for offset, term in enumerate(fresh):
            ids[term] = next_id + offset
        counters["next_term"] = next_id + len(fresh)
        db.executemany(
            "INSERT INTO terms (term, id, df) VALUES (?, ?, ?)",
            [(t, ids[t], df[t]) for t in fresh],
        )
        for term, (term_id, _) in known.items():
            changes[term_id] += df[term]
        batch = counters["batch"] + 1
        db.executemany(
            "INSERT INTO postings (term, batch, ids, tfs) VALUES (?, ?, ?, ?)",
            [(ids[t], batch, *p.encode()) for t, p in postings.items()],
        )

    # -- compaction ------------------------------------------------------------------------

    def needs_compaction(self, max_batches: int = 64, max_dead: float = 0.1) -> bool:
        """Many write batches since the last merge, or many deleted chunks still indexed."""
        self.refresh()
        db = self._db()
        since = _meta_int(db, "merged_batch")
        chunks = max(self._counters.get("chunks", 0), 1)
        vectors = self._vectors
        return (
            self._counters.get("batch", 0) - since > max_batches
            or len(self._dead) > max_dead * chunks
            or (vectors is not None and vectors.needs_rebuild())
        )

    def compact(self) -> None:
        """Merge each term's posting lists into one without deleted chunks; retrain FAISS
        when the index has crossed the exact-search threshold; save the FAISS cache."""
        with self._write_lock, _file_lock(self.index_dir):
            self.refresh()
            db = self._db()
            with self._state_lock:
                with _transaction(db, "BEGIN IMMEDIATE"):
                    dead_rows = db.execute("SELECT seq, key, terms FROM deletions").fetchall()
                    dead = np.array(sorted(k for _, k, _ in dead_rows), dtype=np.int64)
                    touched = {t for _, _, terms in dead_rows for t in json.loads(terms)}
                    term_ids = set(self._terms(db, sorted(touched)).values())
                    merge = {tid for tid, _ in term_ids} | {
                        t
                        for (t,) in db.execute(
                            "SELECT term FROM postings GROUP BY term HAVING count(*) > 1"
                        )
                    }
                    for term in sorted(merge):
                        rows = db.execute(
                            "SELECT ids, tfs FROM postings WHERE term = ? ORDER BY batch", (term,)
                        ).fetchall()
                        merged = Postings.concat([Postings.decode(i, t) for i, t in rows]).without(
                            dead
                        )
                        db.execute("DELETE FROM postings WHERE term = ?", (term,))
                        if len(merged.ids):
                            db.execute(
                                "INSERT INTO postings (term, batch, ids, tfs) VALUES (?, 0, ?, ?)",
                                (term, *merged.encode()),
                            )
                    logged = db.execute("SELECT seq, deltas FROM df_log ORDER BY seq").fetchall()
                    folded = int(logged[-1][0]) if logged else _meta_int(db, "df_folded")
                    db.executemany(
                        "UPDATE terms SET df = df + ? WHERE id = ?",
                        [(c, t) for t, c in _DfLog().plus(logged, 0).changes.items()],
                    )
                    db.execute("DELETE FROM df_log")
                    db.execute("DELETE FROM terms WHERE df <= 0")
                    last = max((s for s, _, _ in dead_rows), default=0)
                    purged = _meta_int(db, "purged")
                    db.execute("DELETE FROM deletions")
                    compactions = _meta_int(db, "compactions")
                    counters = self._read_counters(db)
                    counters["version"] += 1
                    db.executemany(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                        [
                            ("version", str(counters["version"])),
                            ("purged", str(max(last, purged))),
                            ("merged_batch", str(counters["batch"])),
                            ("compactions", str(compactions + 1)),
                            ("df_folded", str(folded)),
                        ],
                    )
                    vectors = self._vectors
                    assert vectors is not None
                    if vectors.needs_rebuild():
                        vectors = self._rebuild_vectors(db)
                    vectors.deletion = max(vectors.deletion, last, purged)
                self._vectors = vectors
                self._dead = frozenset()
                self._counters = counters
                self._version = counters["version"]
                self._df = _DfLog(self._version, {}, folded, folded)
                vectors.save(self.index_dir)

    @staticmethod
    def remove_files(index_dir: Path) -> None:
        """Delete the stored index (not the embedding cache), for a rebuild with new settings.

        Processes that still have it open keep reading the deleted files: stop them first.
        """
        index_dir = Path(index_dir)
        with _file_lock(index_dir):
            for name in (DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm", LEGACY_MANIFEST):
                (index_dir / name).unlink(missing_ok=True)
            for old in index_dir.glob("vectors.*.faiss"):
                old.unlink(missing_ok=True)
            for legacy in index_dir.glob("gen-*"):  # format-1 generations
                if legacy.is_dir():
                    shutil.rmtree(legacy, ignore_errors=True)


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
    db.execute(begin)
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextlib.contextmanager
def _file_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time, across threads and processes."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
