"""The dense index: FAISS over the vectors the store keeps, keyed by the store's chunk keys.

Up to ``ann_threshold`` vectors the index is exact (``IndexIDMap2`` over ``IndexFlatIP``);
above it, an inverted file with 8-bit scalar-quantised vectors (``IndexIVFScalarQuantizer``),
whose recall against exact search ``rag bench-scale`` reports. The index on disk is a cache of
the store, named by the last chunk key and deletion it holds, so a process that opens it catches
up by reading only what was written since.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.cpu import cores

_FILE = re.compile(r"^vectors\.(\d+)\.(\d+)\.faiss$")


@dataclass(frozen=True, slots=True)
class AnnParams:
    """When to leave exact search, and how the approximate index is shaped."""

    threshold: int = 50_000  # vectors; exact search of more costs more than ~5 ms a query
    lists_per_sqrt: float = 4.0  # nlist = lists_per_sqrt * sqrt(n), the usual IVF sizing
    nprobe: int = 32  # lists searched per query: recall against speed


# Vectors added or removed in one call below which FAISS runs on the calling thread: for a
# query or one document an OpenMP team costs more than it saves (adding 8 vectors to an IVF
# index: 0.2 ms on one thread, 20 ms on two, measured here with the other core busy).
ONE_THREAD_BELOW = 4096


def _threads_for(n: int) -> None:
    """FAISS's OpenMP threads for a call on ``n`` vectors (the setting is per calling thread)."""
    import faiss

    faiss.omp_set_num_threads(1 if n < ONE_THREAD_BELOW else cores())


class VectorIndex:
    """A FAISS index that can grow, forget ids, and be saved and reopened as a cache."""

    def __init__(self, dim: int, ann: AnnParams | None = None, index: Any = None) -> None:
        import faiss

        self.dim = dim
        self.ann = ann or AnnParams()
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._lock = threading.Lock()
        self.max_key = 0  # the highest chunk key added
        self.deletion = 0  # the last deletion (sequence number) applied
        self._tune()

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def approximate(self) -> bool:
        import faiss

        return isinstance(self._index, faiss.IndexIVF)

    @property
    def nprobe(self) -> int | None:
        """Lists an approximate index searches per query (``None`` for an exact index)."""
        index: Any = self._index
        return int(index.nprobe) if self.approximate else None

    @nprobe.setter
    def nprobe(self, lists: int) -> None:
        index: Any = self._index
        if self.approximate:
            index.nprobe = max(1, min(lists, index.nlist))

    def _tune(self) -> None:
        import faiss

        if isinstance(self._index, faiss.IndexIVF):
            self.nprobe = self.ann.nprobe
            # id -> (list, offset): removing a document's chunks touches those entries
            # alone, where a plain IVF index scans every list (O(N) per delete)
            hashtable = faiss.DirectMap.Hashtable  # type: ignore[attr-defined]
            if self._index.direct_map.type != hashtable:
                self._index.set_direct_map_type(hashtable)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        if not len(keys):
            return
        _threads_for(len(keys))
        with self._lock:
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(keys, dtype=np.int64)
            )
            self.max_key = max(self.max_key, int(np.max(keys)))

    def remove(self, keys: np.ndarray, deletion: int) -> None:
        import faiss

        _threads_for(len(keys))
        with self._lock:
            if len(keys):
                self._index.remove_ids(faiss.IDSelectorArray(np.asarray(keys, dtype=np.int64)))
            self.deletion = max(self.deletion, deletion)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest keys with their inner product, best first."""
        _threads_for(1)
        with self._lock:
            k = min(k, self.size)
            if k <= 0:
                return []
            scores, keys = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(keys[0], scores[0], strict=True) if i >= 0]

    def needs_rebuild(self) -> bool:
        """Past the threshold and still exact: time to train the approximate index."""
        return not self.approximate and self.size > self.ann.threshold

    @classmethod
    def build(
        cls, dim: int, keys: np.ndarray, vectors: np.ndarray, ann: AnnParams | None = None
    ) -> VectorIndex:
        """A fresh index over ``vectors``: exact below the threshold, trained IVF above."""
        import faiss

        ann = ann or AnnParams()
        if len(keys) <= ann.threshold:
            out = cls(dim, ann)
        else:
            nlist = int(ann.lists_per_sqrt * np.sqrt(len(keys)))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            rng = np.random.default_rng(0)
            sample = rng.choice(len(keys), size=min(len(keys), nlist * 64), replace=False)
            _threads_for(len(keys))
            index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
            out = cls(dim, ann, index)  # faiss' wrapper keeps ``quantizer`` alive with it
        out.add(keys, vectors)
        return out

    # -- the cache on disk ---------------------------------------------------------------

    def save(self, directory: Path) -> Path:
        """Write atomically as ``vectors.<max_key>.<deletion>.faiss``; older caches are removed."""
        import faiss

        with self._lock:
            name = f"vectors.{self.max_key}.{self.deletion}.faiss"
            tmp = directory / f".{name}.tmp{os.getpid()}"
            faiss.write_index(self._index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        target = directory / name
        os.replace(tmp, target)
        for old in directory.glob("vectors.*.faiss"):
            if old != target and _FILE.match(old.name):
                old.unlink(missing_ok=True)
        return target

    @classmethod
    def load(cls, directory: Path, dim: int, ann: AnnParams | None = None) -> VectorIndex | None:
        """The newest readable cache in ``directory``; None when there is none."""
        import faiss

        found = sorted(
            (int(m.group(1)), int(m.group(2)), p)
            for p in directory.glob("vectors.*.faiss")
            if (m := _FILE.match(p.name))
        )
        for max_key, deletion, path in reversed(found):
            try:
                index = faiss.read_index(str(path))
            except RuntimeError:
                continue  # a cache is only a cache: fall back to an older one or rebuild
            if index.d != dim:
                continue
            out = cls(dim, ann, index)
            out.max_key, out.deletion = max_key, deletion
            return out
        return None
