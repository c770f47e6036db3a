"""The index on disk: immutable generations committed by an atomic ``manifest.json`` swap.

Layout of an index directory::

    manifest.json          commit point: format, embedder, parameters, counts, generation
    gen-000007/            one complete index: documents, chunks, tokens, FAISS, BM25
    embeddings.sqlite      embedding cache (content-hash keyed), shared by generations
    .lock                  writers take an exclusive flock on it

A writer builds a new generation in a temporary sibling, fsyncs it, renames it into place
and only then replaces the manifest. A crash at any point leaves the previous manifest and
its generation intact, and readers never see a half-written index.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag import __version__
from rag.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rag.index.bm25 import BM25Index, BM25Params, idf_table
from rag.ingest.chunking import Chunk, ChunkParams
from rag.ingest.documents import Article, Paragraph, Piece

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CACHE_FILE = "embeddings.sqlite"
TOKENIZER = "jieba-search+stopwords-zh"


@dataclass(frozen=True)
class IndexParams:
    """Everything that must match between the index on disk and the running configuration."""

    embedder: str
    dim: int
    chunking: ChunkParams = field(default_factory=ChunkParams)
    bm25: BM25Params = field(default_factory=BM25Params)


class FaissStore:
    """Exact inner-product search over L2-normalised vectors (cosine similarity)."""

    def __init__(self, index: Any) -> None:
        self._index = index

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, dim: int) -> FaissStore:
        import faiss

        index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def vectors(self) -> np.ndarray:
        if self.size == 0:
            return np.zeros((0, self._index.d), dtype=np.float32)
        return np.asarray(self._index.reconstruct_n(0, self.size), dtype=np.float32)

    def vector(self, row: int) -> np.ndarray:
        return np.asarray(self._index.reconstruct(int(row)), dtype=np.float32)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of the ``k`` nearest vectors, best first."""
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, rows = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        import faiss

        return cls(faiss.read_index(str(path)))


@dataclass(frozen=True, eq=False)
class IndexSnapshot:
    """One loaded generation; immutable, so readers can keep using it while a writer works."""

    params: IndexParams
    articles: dict[str, Article]
    chunks: list[Chunk]
    tokens: list[list[str]]
    dense: FaissStore
    bm25: BM25Index
    generation: str = ""
    sources: tuple[str, ...] = ()

    @cached_property
    def idf(self) -> dict[str, float]:
        """Inverse document frequency of every token over the chunks (for answer scoring)."""
        return idf_table(self.tokens)

    @cached_property
    def paragraph_rows(self) -> dict[tuple[str, int], tuple[int, ...]]:
        """Rows of the chunks of each ``(doc_id, paragraph)``, in text order."""
        rows: dict[tuple[str, int], list[int]] = {}
        for i, c in enumerate(self.chunks):
            rows.setdefault((c.doc_id, c.paragraph), []).append(i)
        return {k: tuple(v) for k, v in rows.items()}

    @property
    def counts(self) -> dict[str, int]:
        return {
            "documents": len(self.articles),
            "paragraphs": sum(len(a.paragraphs) for a in self.articles.values()),
            "chunks": len(self.chunks),
        }


def build_snapshot(
    params: IndexParams,
    articles: list[Article],
    chunks: list[Chunk],
    tokens: list[list[str]],
    vectors: np.ndarray,
    sources: tuple[str, ...] = (),
) -> IndexSnapshot:
    return IndexSnapshot(
        params=params,
        articles={a.doc_id: a for a in articles},
        chunks=chunks,
        tokens=tokens,
        dense=FaissStore.from_vectors(vectors, params.dim),
        bm25=BM25Index.build(tokens, params.bm25),
        sources=sources,
    )


# ---------------------------------------------------------------------------------------------
# Writing


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time, across threads and processes."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json_lines(path: Path, rows: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _next_generation(index_dir: Path) -> str:
    numbers = [int(p.name[4:]) for p in index_dir.glob("gen-*") if p.name[4:].isdigit()]
    return f"gen-{max(numbers, default=0) + 1:06d}"


def commit_snapshot(index_dir: Path, snap: IndexSnapshot) -> IndexSnapshot:
    """Persist ``snap`` as a new generation and make it current; the caller holds the lock."""
    index_dir.mkdir(parents=True, exist_ok=True)
    for stale in index_dir.glob("gen-*.tmp*"):
        shutil.rmtree(stale, ignore_errors=True)
    generation = _next_generation(index_dir)
    tmp = index_dir / f"{generation}.tmp{os.getpid()}"
    tmp.mkdir()
    _write_json_lines(tmp / "documents.jsonl", (article_to_json(a) for a in snap.articles.values()))
    _write_json_lines(tmp / "chunks.jsonl", (asdict(c) for c in snap.chunks))
    _write_json_lines(tmp / "tokens.jsonl", snap.tokens)
    snap.dense.save(tmp / "vectors.faiss")
    (tmp / "bm25").mkdir()
    snap.bm25.save(tmp / "bm25")
    for path in [*tmp.iterdir(), *(tmp / "bm25").iterdir()]:
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(tmp / "bm25")
    _fsync_dir(tmp)
    os.replace(tmp, index_dir / generation)
    _fsync_dir(index_dir)

    manifest = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "generation": generation,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "embedder": {"name": snap.params.embedder, "dim": snap.params.dim},
        "chunking": asdict(snap.params.chunking),
        "bm25": {**asdict(snap.params.bm25), "tokenizer": TOKENIZER},
        "counts": snap.counts,
        "sources": list(snap.sources),
    }
    previous = _current_generation(index_dir)
    tmp_manifest = index_dir / f"{MANIFEST}.tmp{os.getpid()}"
    with open(tmp_manifest, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp_manifest, index_dir / MANIFEST)
    _fsync_dir(index_dir)
    _collect_garbage(index_dir, keep={generation, previous})
    return IndexSnapshot(
        params=snap.params,
        articles=snap.articles,
        chunks=snap.chunks,
        tokens=snap.tokens,
        dense=snap.dense,
        bm25=snap.bm25,
        generation=generation,
        sources=snap.sources,
    )


def _current_generation(index_dir: Path) -> str:
    try:
        return str(json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _collect_garbage(index_dir: Path, keep: set[str]) -> None:
    """Drop generations older than the previous one (a reader may still be loading that)."""
    for path in index_dir.glob("gen-*"):
        if path.is_dir() and path.name not in keep and ".tmp" not in path.name:
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Reading


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = index_dir / MANIFEST
    if not path.exists():
        raise IndexNotFoundError(f"no index in {index_dir}: build one with `rag index`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, OSError) as exc:
        raise IndexCorruptError(
            f"index manifest {path} is unreadable ({exc}); rebuild with `rag index`"
        ) from exc
    return manifest


def check_params(manifest: dict[str, Any], expected: IndexParams, index_dir: Path) -> IndexParams:
    """The parameters stored in ``manifest``; an error when they differ from ``expected``."""
    try:
        version = manifest["format_version"]
        emb = manifest["embedder"]
        stored = IndexParams(
            embedder=str(emb["name"]),
            dim=int(emb["dim"]),
            chunking=ChunkParams(**manifest["chunking"]),
            bm25=BM25Params(**{k: v for k, v in manifest["bm25"].items() if k != "tokenizer"}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexCorruptError(
            f"index manifest in {index_dir} is incomplete ({exc}); rebuild with `rag index`"
        ) from exc
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index in {index_dir} has format {version}, this version reads {FORMAT_VERSION}; "
            "rebuild with `rag index`"
        )
    if (stored.embedder, stored.dim) != (expected.embedder, expected.dim):
        raise IndexMismatchError(
            f"index in {index_dir} was built with embedder {stored.embedder} ({stored.dim}-dim) "
            f"but the configured embedder is {expected.embedder} ({expected.dim}-dim); "
            "rebuild with `rag index` or set RAG_EMBEDDER to match"
        )
    if stored.chunking != expected.chunking:
        raise IndexMismatchError(
            f"index in {index_dir} was built with chunking {asdict(stored.chunking)} but the "
            f"configuration says {asdict(expected.chunking)}; rebuild with `rag index`"
        )
    return stored


def load_snapshot(index_dir: Path, expected: IndexParams) -> IndexSnapshot:
    manifest = read_manifest(index_dir)
    params = check_params(manifest, expected, index_dir)
    gen_dir = index_dir / str(manifest.get("generation", ""))
    try:
        articles = [
            article_from_json(json.loads(line))
            for line in (gen_dir / "documents.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        chunks = [
            Chunk(**json.loads(line))
            for line in (gen_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        tokens = [
            list(json.loads(line))
            for line in (gen_dir / "tokens.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        dense = FaissStore.load(gen_dir / "vectors.faiss")
        bm25 = BM25Index.load(gen_dir / "bm25", len(chunks))
    except Exception as exc:
        raise IndexCorruptError(
            f"index in {index_dir} is corrupt ({type(exc).__name__}: {exc}); "
            "rebuild with `rag index`"
        ) from exc
    if not (dense.size == len(chunks) == len(tokens)):
        raise IndexCorruptError(
            f"index in {index_dir} is corrupt ({dense.size} vectors for {len(chunks)} chunks); "
            "rebuild with `rag index`"
        )
    return IndexSnapshot(
        params=params,
        articles={a.doc_id: a for a in articles},
        chunks=chunks,
        tokens=tokens,
        dense=dense,
        bm25=bm25,
        generation=gen_dir.name,
        sources=tuple(manifest.get("sources", ())),
    )


def article_to_json(article: Article) -> dict[str, Any]:
    return asdict(article)


def article_from_json(data: dict[str, Any]) -> Article:
    paragraphs = tuple(
        Paragraph(
            doc_id=p["doc_id"],
            index=p["index"],
            text=p["text"],
            pieces=tuple(Piece(**piece) for piece in p["pieces"]),
            kind=p["kind"],
            section=p["section"],
        )
        for p in data["paragraphs"]
    )
    return Article(
        doc_id=data["doc_id"],
        title=data["title"],
        paragraphs=paragraphs,
        source=data["source"],
        byline=data.get("byline"),
        kicker=data.get("kicker"),
        column=data.get("column"),
        sections=tuple(data.get("sections", ())),
    )
