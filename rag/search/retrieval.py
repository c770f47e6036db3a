"""Hybrid retrieval: FAISS (dense) and BM25 (lexical) fused, one hit per paragraph."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rag.config import Fusion
from rag.index.embeddings import Embedder
from rag.index.store import ScoredChunk, Store
from rag.ingest.chunking import Chunk
from rag.search.translation import chinese_terms
from rag.text.chars import has_han
from rag.text.normalize import normalize
from rag.text.pinyin import find_name, name_keys
from rag.text.tokens import tokenize

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its fused score and where the score came from."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    dense_rank: int | None = None
    bm25_score: float | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True, slots=True)
class RetrievalParams:
    fusion: Fusion = "rrf"
    rrf_k: int = 60
    dense_weight: float = 0.5
    candidates: int = 50
    # English questions: the weight of a third list, the candidates that spell the question's
    # pinyin names in characters. Swept on the 560 English CMRC train questions (hybrid,
    # RRF): 0 / 0.25 / 0.5 / 1 / 2 / 4 gave R@1 0.689 / 0.730 / 0.768 / 0.784 / 0.784 / 0.780.
    name_weight: float = 1.0


class Retriever:
    """Searches whichever store it is given; holds only the memo of query vectors."""

    def __init__(self, embedder: Embedder, params: RetrievalParams | None = None) -> None:
        self.embedder = embedder
        self.params = params or RetrievalParams()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def embed_query(self, text: str) -> np.ndarray:
        """Query vector, memoised: repeated questions cost no model call."""
        vec = self._cached(text)
        if vec is None:
            vec = self._remember(text, self.embedder.embed_query(text))
        return vec

    async def embed_query_async(self, text: str) -> np.ndarray:
        """:meth:`embed_query` awaited off the event loop: on the embedder's own workers when
        it has them (the server's batcher), else on a thread."""
        vec = self._cached(text)
        if vec is None:
            call = getattr(self.embedder, "embed_query_async", None)
            got = (
                await call(text)
                if call
                else await asyncio.to_thread(self.embedder.embed_query, text)
            )
            vec = self._remember(text, got)
        return vec

    def _cached(self, text: str) -> np.ndarray | None:
        with self._cache_lock:
            if text in self._query_cache:
                self._query_cache.move_to_end(text)
                return self._query_cache[text]
        return None

    def _remember(self, text: str, vec: np.ndarray) -> np.ndarray:
        with self._cache_lock:
            self._query_cache[text] = vec
            if len(self._query_cache) > 2048:
                self._query_cache.popitem(last=False)
        return vec

    def search(
        self,
        store: Store,
        query: str,
        k: int = 5,
        mode: Mode = "hybrid",
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """Top ``k`` hits, at most one per paragraph, best first (``vector``: the query's,
        if already embedded)."""
        if k <= 0:
            return []
        text = normalize(query)
        n = max(self.params.candidates, k * 4)
        dense: dict[str, tuple[float, int]] = {}
        lexical: dict[str, tuple[float, int]] = {}
        found: dict[str, ScoredChunk] = {}
        if mode != "bm25":
            query_vector = self.embed_query(text) if vector is None else vector
            results = store.dense_search(query_vector, n)
            dense = {r.chunk.chunk_id: (r.score, rank) for rank, r in enumerate(results, 1)}
            found.update((r.chunk.chunk_id, r) for r in results)
        if mode != "dense":
            # an English question also searches with the Chinese words that translate it
            results = store.lexical_search(tokenize(text) + chinese_terms(text, store), n)
            lexical = {r.chunk.chunk_id: (r.score, rank) for rank, r in enumerate(results, 1)}
            found.update((r.chunk.chunk_id, r) for r in results)
        fused = self._fuse(dense, lexical, mode)
        if mode == "hybrid" and self.params.name_weight:
            self._add_names(fused, _named(text, found, fused))
        hits: list[Hit] = []
        seen: set[tuple[str, int]] = set()
        for cid, score in sorted(fused.items(), key=lambda kv: (-kv[1], found[kv[0]].order)):
            chunk = found[cid].chunk
            key = (chunk.doc_id, chunk.paragraph)
            if key in seen:
                continue
            seen.add(key)
            d = dense.get(cid)
            b = lexical.get(cid)
            hits.append(
                Hit(
                    chunk=chunk,
                    score=score,
                    dense_score=d[0] if d else None,
                    dense_rank=d[1] if d else None,
                    bm25_score=b[0] if b else None,
                    bm25_rank=b[1] if b else None,
                )
            )
            if len(hits) == k:
                break
        return hits

    def _fuse(
        self,
        dense: dict[str, tuple[float, int]],
        lexical: dict[str, tuple[float, int]],
        mode: Mode,
    ) -> dict[str, float]:
        if mode == "dense":
            return {r: s for r, (s, _) in dense.items()}
        if mode == "bm25":
            return {r: s for r, (s, _) in lexical.items()}
        p = self.params
        w = p.dense_weight
        fused: dict[str, float] = {}
        if p.fusion == "rrf":
            for r, (_, rank) in dense.items():
                fused[r] = fused.get(r, 0.0) + w / (p.rrf_k + rank)
            for r, (_, rank) in lexical.items():
                fused[r] = fused.get(r, 0.0) + (1 - w) / (p.rrf_k + rank)
            return fused
        # Weighted sum of scores scaled to [0, 1] over the candidates of each list.
        for part, weight in ((dense, w), (lexical, 1 - w)):
            if not part:
                continue
            values = np.array([s for s, _ in part.values()])
            lo, hi = float(values.min()), float(values.max())
            span = hi - lo or 1.0
            for r, (s, _) in part.items():
                fused[r] = fused.get(r, 0.0) + weight * (s - lo) / span
        return fused

    def _add_names(self, fused: dict[str, float], names: dict[str, tuple[int, int]]) -> None:
        """Fuse the list of candidates that spell the query's names, as the other lists are
        (by rank for RRF, by score scaled to [0, 1] for the weighted sum)."""
        if not names:
            return
        p = self.params
        most = max(spelled for spelled, _ in names.values())
        for cid, (spelled, rank) in names.items():
            if p.fusion == "rrf":
                fused[cid] += p.name_weight / (p.rrf_k + rank)
            else:
                fused[cid] += p.name_weight * spelled / most


def _named(
    query: str, found: dict[str, ScoredChunk], fused: dict[str, float]
) -> dict[str, tuple[int, int]]:
    """For an English query that names people or places in pinyin: the candidates whose title
    or text spells those names in characters, ``chunk id -> (names spelled, rank)``, ranked
    by names spelled, then by the fused score of the other lists."""
    if has_han(query) or not (keys := name_keys(query)):
        return {}
    scored = []
    for cid in fused:
        chunk = found[cid].chunk
        text = f"{chunk.title or ''} {chunk.text}"
        spelled = sum(1 for key in keys if next(find_name(key, text), None) is not None)
        if spelled:
            scored.append((-spelled, -fused[cid], cid))
    return {cid: (-neg, rank) for rank, (neg, _, cid) in enumerate(sorted(scored), 1)}
