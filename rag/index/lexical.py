"""BM25 over jieba tokens, as an inverted index that grows by batches.

Each write appends one posting list per (term, batch); corpus statistics (document frequency
per term, chunk count, total length) are kept as counters, so a write never rescans the
corpus. Scores follow Lucene's BM25 (the ``bm25s`` "lucene" method the index used before)::

    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(t, d) = idf(t) * tf / (tf + k1 * (1 - b + b * len(d) / avglen))
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The IDF table holds this key for a token that occurs in no chunk.
UNSEEN = "\x00unseen"
_ID = np.dtype("<u4")
_TF = np.dtype("<u2")  # term frequency and chunk length, each clipped to 65535


@dataclass(frozen=True, slots=True)
class BM25Params:
    k1: float = 1.2
    b: float = 0.75
    method: str = "lucene"


def idf(df: float, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def unseen_idf(n: int) -> float:
    return idf(0, max(n, 1))


@dataclass(frozen=True, slots=True)
class Postings:
    """The chunks a term occurs in, with its frequency there and each chunk's length."""

    ids: np.ndarray  # uint32 chunk keys
    tf: np.ndarray  # uint16
    length: np.ndarray  # uint16

    def encode(self) -> tuple[bytes, bytes]:
        pairs = np.empty((len(self.ids), 2), dtype=_TF)
        pairs[:, 0] = self.tf
        pairs[:, 1] = self.length
        return self.ids.astype(_ID).tobytes(), pairs.tobytes()

    @classmethod
    def decode(cls, ids: bytes, pairs: bytes) -> Postings:
        p = np.frombuffer(pairs, dtype=_TF).reshape(-1, 2)
        return cls(np.frombuffer(ids, dtype=_ID), p[:, 0], p[:, 1])

    @classmethod
    def concat(cls, parts: Sequence[Postings]) -> Postings:
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.ids for p in parts]),
            np.concatenate([p.tf for p in parts]),
            np.concatenate([p.length for p in parts]),
        )

    def without(self, dead: np.ndarray) -> Postings:
        if not len(dead):
            return self
        keep = ~np.isin(self.ids, dead)
        return Postings(self.ids[keep], self.tf[keep], self.length[keep])


def invert(
    keys: Sequence[int], tokens: Sequence[Sequence[str]]
) -> tuple[dict[str, Postings], Counter[str]]:
    """Posting lists of a batch of chunks, and the document frequency of each term in it."""
    vocab: dict[str, int] = {}
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    flat = np.fromiter(
        (vocab.setdefault(t, len(vocab)) for toks in tokens for t in toks),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    n = max(len(tokens), 1)
    rows = np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)
    pairs, tf = np.unique(flat * n + rows, return_counts=True)  # sorted by term, then chunk
    term, row = pairs // n, pairs % n
    starts = np.flatnonzero(np.r_[True, term[1:] != term[:-1]])
    ends = np.r_[starts[1:], len(term)]
    key_array = np.asarray(keys, dtype=_ID)
    chunk_ids, tfs = key_array[row], np.minimum(tf, 65535).astype(_TF)
    chunk_lengths = np.minimum(lengths, 65535).astype(_TF)[row]
    names = list(vocab)
    postings: dict[str, Postings] = {}
    df: Counter[str] = Counter()
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        name = names[int(term[s])]
        postings[name] = Postings(chunk_ids[s:e], tfs[s:e], chunk_lengths[s:e])
        df[name] = e - s
    return postings, df


def score(
    postings: Postings, term_idf: float, avglen: float, params: BM25Params
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk keys and their BM25 score for one term."""
    tf = postings.tf.astype(np.float32)
    norm = params.k1 * (1 - params.b + params.b * postings.length.astype(np.float32) / avglen)
    return postings.ids, (term_idf * tf / (tf + norm)).astype(np.float32)


def top_scores(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], k: int, exclude: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """Sum per-term scores by chunk key and return the ``k`` best positive ones, best first.

    Each part is one term's (keys, scores), a key at most once in it. Keys in ``exclude``
    (deleted chunks still in the posting lists) score nothing.
    """
    parts = [p for p in parts if len(p[0])]
    if not parts or k <= 0:
        return []
    top = max(int(ids.max()) for ids, _ in parts)
    total = sum(len(ids) for ids, _ in parts)
    if len(parts) > 1 and total * 16 > top:  # dense enough: one accumulator indexed by key
        sums = np.zeros(top + 1, dtype=np.float64)
        for ids, values in parts:
            sums[ids] += values  # no repeated key within a part, so no lost updates
        if exclude is not None and len(exclude):
            sums[exclude[exclude <= top]] = 0.0
        # A floor for the k-th best score: the k-th best among the chunks of the rarest
        # terms (their sums are final). Only chunks at or above it are ranked below.
        floor, seen = 0.0, np.empty(0, dtype=np.int64)
        for ids, _ in sorted(parts, key=lambda p: len(p[0])):
            seen = np.union1d(seen, ids)  # each chunk once: a repeat would raise the floor
            if len(seen) >= k:
                break
        sample = sums[seen]
        if len(sample) >= k:
            floor = float(np.partition(sample, len(sample) - k)[len(sample) - k])
        ids = np.flatnonzero(sums >= floor) if floor > 0 else np.flatnonzero(sums)
        values = sums[ids].astype(np.float32)
    else:
        ids = np.concatenate([p[0] for p in parts]).astype(np.int64)
        values = np.concatenate([p[1] for p in parts])
        if len(parts) > 1:
            ids, inverse = np.unique(ids, return_inverse=True)
            values = np.bincount(inverse, weights=values, minlength=len(ids)).astype(np.float32)
        if exclude is not None and len(exclude):
            values = np.where(np.isin(ids, exclude), np.float32(0), values)
    keep = values > 0
    ids, values = ids[keep], values[keep]
    if len(ids) > k:
        kth = values[np.argpartition(-values, k - 1)[:k]].min()
        tied = values >= kth
        ids, values = ids[tied], values[tied]
    order = np.lexsort((ids, -values))[:k]
    return [(int(ids[i]), float(values[i])) for i in order]
