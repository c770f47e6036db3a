"""BM25 over jieba tokens, as an inverted index that grows by batches.

Each write appends one posting list per (term, batch); corpus statistics (document frequency
per term, chunk count, total length) are kept as counters, so a write never rescans the
corpus. Scores follow Lucene's BM25 (the ``bm25s`` "lucene" method the index used before)::

    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(t, d) = idf(t) * tf / (tf + k1 * (1 - b + b * len(d) / avglen))

A search need not sum every posting of a frequent term: ``pruned_top_scores`` (MaxScore)
sums the short lists and as few long ones as it must, then looks the rest up only for the
chunks that can still reach the top k; its results equal summing everything. Long lists are
kept decoded between searches in a ``ListCache``, with each posting's impact at the current
average length; the loops over their postings run compiled (``rag.index.kernels``, numba).
"""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import ClassVar

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


def impacts(tf: np.ndarray, length: np.ndarray, avglen: float, params: BM25Params) -> np.ndarray:
    """``tf / (tf + k1 * (1 - b + b * len / avglen))``: a posting's score before its IDF."""
    tf = tf.astype(np.float32)
    norm = params.k1 * (1 - params.b + params.b * length.astype(np.float32) / avglen)
    return tf / (tf + norm)


def score(
    postings: Postings, term_idf: float, avglen: float, params: BM25Params
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk keys and their BM25 score for one term."""
    values = impacts(postings.tf, postings.length, avglen, params)
    return postings.ids, (term_idf * values).astype(np.float32)


@dataclass(frozen=True, slots=True)
class LongList:
    """A long posting list that a search may score only where it must: its keys (ascending)
    and each posting's ``impacts`` (float32) at the search's average length.

    ``bound`` is ``idf * count`` times the largest impact, so a chunk missing from every
    summed part cannot score more than the bounds of the lists left out.
    """

    ids: np.ndarray
    impacts: np.ndarray
    idf: float
    count: int  # the term's occurrences in the query
    bound: float
    index: KeyIndex | None = None  # finds a key's position without a binary search

    @classmethod
    def of(cls, entry: CachedList, term_idf: float, count: int) -> LongList:
        """A cached list as one query's term (its IDF, its occurrences in the query) scores it."""
        bound = term_idf * count * entry.bound
        return cls(entry.ids, entry.impacts, term_idf, count, bound, entry.index)


def _largest(values: np.ndarray) -> float:
    return float(values.max()) if len(values) else 0.0


def top_scores(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], k: int, exclude: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """Sum per-term scores by chunk key and return the ``k`` best positive ones, best first.

    Every list is summed in full: the reference that ``pruned_top_scores`` must agree with.

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
    return _best(ids, values, k)


def pruned_top_scores(
    parts: Sequence[tuple[np.ndarray, np.ndarray]],
    lists: Sequence[LongList],
    k: int,
    exclude: np.ndarray | None = None,
) -> list[tuple[int, float]]:
    """``top_scores`` of ``parts`` plus every long list, scoring long lists only where needed.

    MaxScore, term at a time. The parts (short lists) are summed first, then long lists (the
    most bound per posting first), until the bounds of the lists left add up to less than a
    lower bound of the k-th best score (the k-th best full score of a few promising chunks):
    those lists cannot lift a chunk that is in no summed list into the top k, so they are
    looked up (``KeyIndex`` or binary search) only for the summed chunks that could still
    reach it. The result equals ``top_scores`` over every list (up to float rounding).
    """
    parts = sorted((p for p in parts if len(p[0])), key=lambda p: len(p[0]))
    # Summed first: the lists with the most bound per posting (cheap to sum, much to gain).
    lists = sorted(
        (lst for lst in lists if len(lst.ids)),
        key=lambda lst: lst.bound / len(lst.ids),
    )
    if k <= 0 or not (parts or lists):
        return []
    top = max([int(p[0].max()) for p in parts] + [int(lst.ids[-1]) for lst in lists])
    acc = _Accumulator(top, exclude, compiled=bool(lists))
    try:
        for ids, values in parts:
            acc.add(ids, values)
        left = np.cumsum([lst.bound for lst in lists])  # bounds of lists[:i + 1]
        known = _exact_best(acc, acc.sample, lists, k)
        while lists and left[len(lists) - 1] >= _kth(known, k):
            fresh = acc.add_list(lists.pop())
            if len(known) < k:
                pool = fresh if len(known) else acc.sample
                known = np.concatenate([known, _exact_best(acc, pool, lists, k)])
        theta = _kth(known, k)
        floor = theta - (float(left[len(lists) - 1]) if lists else 0.0)
        # a binary search looks the keys up in ascending order; a key bitmap in any order
        ids, sums = acc.candidates(floor, ascending=any(lst.index is None for lst in lists))
    finally:
        acc.release()
    # The lists left, in the order they would have been summed; after each, a chunk whose sum
    # plus the bounds of the lists still to look up falls below the k-th best score drops out.
    # None drops after the last: theta was summed in another order, so a chunk scoring it
    # exactly may come out an ulp below it here.
    keys, n = ids, len(ids)  # both fresh arrays, changed in place
    for i in range(len(lists) - 1, -1, -1):
        left_after, floor = (float(left[i - 1]), theta) if i else (0.0, -np.inf)
        n = _look_up(lists[i], keys, sums, n, left_after, floor)
    return _best(keys[:n], sums[:n].astype(np.float32), k)


EXACT_SAMPLE = 2  # times k: the best summed chunks scored in full to bound the k-th score


def _exact_best(
    acc: _Accumulator,
    pool: np.ndarray,
    lists: Sequence[LongList],
    k: int,
) -> np.ndarray:
    """Full scores of the chunks of ``pool`` with the best sums so far (the lists not yet
    summed looked up for them): the k-th best full score of distinct chunks is a lower bound
    of the k-th best score of all. Successive pools are disjoint (the sample, then chunks a
    summed list touched first), so their scores may be pooled."""
    pool = pool[:SAMPLE]
    if not len(pool):
        return np.zeros(0, dtype=np.float64)
    m = min(len(pool), EXACT_SAMPLE * k)
    best = np.sort(pool[np.argpartition(-acc.sums[pool], m - 1)[:m]])
    scores = acc.sums[best]
    for lst in lists:
        _look_up(lst, best, scores, len(best), 0.0, -np.inf)
    return scores


def _look_up(
    lst: LongList,
    keys: np.ndarray,
    sums: np.ndarray,
    n: int,
    left: float,
    floor: float,
) -> int:
    """Add ``lst``'s scores to the sums of the first ``n`` keys that it holds, then keep in
    place those whose sum plus ``left`` reaches ``floor``; how many. The keys are int64, and
    ascending unless the list has a key bitmap."""
    weight, count = np.float32(lst.idf), np.float32(lst.count)
    words, before = (lst.index.words, lst.index.before) if lst.index else (_NO_WORDS, _NO_BEFORE)
    return int(
        _kernels().look_up(
            words, before, lst.ids, lst.impacts, weight, count, keys, sums, n, left, floor
        )
    )


_NO_WORDS, _NO_BEFORE = np.zeros(0, np.uint64), np.zeros(0, np.int32)  # no key bitmap


@dataclass(frozen=True, slots=True)
class KeyIndex:
    """The positions of a sorted key array, found in constant time: a bitmap of the keys (one
    bit per key up to the largest) and the number of keys before each 64-bit word."""

    words: np.ndarray  # uint64
    before: np.ndarray  # int32

    @classmethod
    def build(cls, keys: np.ndarray) -> KeyIndex:
        k = keys.astype(np.int64)
        words = np.zeros(int(k[-1]) // 64 + 1 if len(k) else 1, dtype=np.uint64)
        np.bitwise_or.at(words, k >> 6, np.uint64(1) << (k & 63).astype(np.uint64))
        before = np.zeros(len(words), dtype=np.int32)
        np.cumsum(np.bitwise_count(words)[:-1], out=before[1:])
        return cls(words, before)

    @staticmethod
    def worth_it(keys: np.ndarray) -> bool:
        """At least one key per 64 on average: the index (12 bytes a word) then costs at most
        1.5x the list (8 bytes a posting), and replaces ~17 dependent reads by 2."""
        return len(keys) > 0 and len(keys) * 64 >= int(keys[-1])

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.before.nbytes)


def _kernels() -> ModuleType:
    """The compiled loops: numba is loaded by the first search that meets a long list."""
    from rag.index import kernels

    return kernels


def _kth(values: np.ndarray, k: int) -> float:
    """The k-th largest value, or 0 when there are fewer than k."""
    if len(values) < k:
        return 0.0
    return float(np.partition(values, len(values) - k)[len(values) - k])


SAMPLE = 10_000  # the first chunks summed, among which the best are scored in full (swept 2k-20k)


class _Accumulator:
    """Sums by chunk key in one array indexed by key, with the keys touched so far.

    The array (8 bytes a chunk) is kept in a pool for the next search, which resets only the
    entries this one touched: as many exist as searches ever ran at once. A key is touched
    first when its sum is still 0 (every score is positive); deleted chunks hold -inf, so they
    are never touched and never reach a floor.
    """

    _pool: ClassVar[list[np.ndarray]] = []
    _pool_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, top: int, exclude: np.ndarray | None, compiled: bool = False) -> None:
        with self._pool_lock:
            sums = self._pool.pop() if self._pool else None
        if sums is None or len(sums) <= top:
            sums = np.zeros(max(top + 1 + top // 8, 1024))  # room to grow before the next one
        self.sums = sums
        self.kernels = _kernels() if compiled else None
        self.touched: list[np.ndarray] = []
        self.sample = np.zeros(0, dtype=np.int64)
        self.dead = np.zeros(0, dtype=np.int64)
        if exclude is not None and len(exclude):
            self.dead = exclude[exclude <= top].astype(np.int64)
            self.sums[self.dead] = -np.inf

    def add(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Add one part's scores; returns the keys it touched first."""
        if self.kernels is not None:
            fresh = np.empty(len(ids), dtype=np.int64)
            fresh = fresh[: self.kernels.add_part(self.sums, ids, values, fresh)]
        else:
            ids = ids.astype(np.intp)  # numpy would convert uint32 keys at each indexing below
            fresh = ids[self.sums[ids] == 0]
            self.sums[ids] += values  # no repeated key within a part, so no lost updates
        return self._touch(fresh)

    def add_list(self, lst: LongList) -> np.ndarray:
        """Add a whole long list's scores (compiled accumulators only)."""
        assert self.kernels is not None
        ids, weight, count = lst.ids, np.float32(lst.idf), np.float32(lst.count)
        fresh = np.empty(len(ids), dtype=np.int64)
        n = self.kernels.add_list(self.sums, ids, lst.impacts, weight, count, fresh)
        return self._touch(fresh[:n])

    def _touch(self, fresh: np.ndarray) -> np.ndarray:
        self.touched.append(fresh)
        if len(self.sample) < SAMPLE:
            self.sample = np.concatenate([self.sample, fresh[: SAMPLE - len(self.sample)]])
        return fresh

    def candidates(self, floor: float, ascending: bool) -> tuple[np.ndarray, np.ndarray]:
        """Touched keys (int64) whose sum is at least ``floor``, with their sums."""
        ids = np.concatenate(self.touched) if self.touched else np.zeros(0, np.int64)
        if self.kernels is not None:
            out = np.empty(len(ids), dtype=np.int64)
            keys = out[: self.kernels.at_least(self.sums, ids, floor, out)]
        else:
            ids = ids.astype(np.int64)
            keys = ids[self.sums[ids] >= floor]
        if ascending:  # the touched keys are ascending runs (one per list): a merge sort
            keys = np.sort(keys, kind="stable")
        return keys, self.sums[keys]

    def release(self) -> None:
        for ids in self.touched:
            self.sums[ids] = 0.0
        self.sums[self.dead] = 0.0
        self.touched = []
        with self._pool_lock:
            self._pool.append(self.sums)


def _best(ids: np.ndarray, values: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best positive scores, best first, ties by key."""
    keep = values > 0
    ids, values = ids[keep], values[keep]
    if len(ids) > k:
        kth = values[np.argpartition(-values, k - 1)[:k]].min()
        tied = values >= kth
        ids, values = ids[tied], values[tied]
    order = np.lexsort((ids, -values))[:k]
    return [(int(ids[i]), float(values[i])) for i in order]


@dataclass(frozen=True, slots=True)
class CachedList:
    """A term's oldest posting list as a search scores it: its keys, each posting's impact and
    the largest one at the average chunk length it was read at (a write moves the average, and
    the list is then read again), and the write batch it came from."""

    ids: np.ndarray
    impacts: np.ndarray  # float32
    bound: float
    avglen: float
    batch: int
    index: KeyIndex | None = None

    @classmethod
    def of(
        cls,
        postings: Postings,
        avglen: float,
        params: BM25Params,
        batch: int,
        index: KeyIndex | None = None,
    ) -> CachedList:
        values = impacts(postings.tf, postings.length, avglen, params)
        return cls(postings.ids, values, _largest(values), avglen, batch, index)

    @property
    def nbytes(self) -> int:
        extra = self.index.nbytes if self.index is not None else 0
        return int(self.ids.nbytes + self.impacts.nbytes) + extra


class ListCache:
    """Long posting lists kept decoded between searches, least recently used out first.

    Entries belong to one ``generation`` of the lists (the store's compaction count): a stored
    list changes only when compaction merges it, so a new generation empties the cache.
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._entries: OrderedDict[int, CachedList] = OrderedDict()
        self._bytes = 0
        self._generation = -1
        self._lock = threading.Lock()

    def get(self, term: int, generation: int) -> CachedList | None:
        with self._lock:
            if generation != self._generation:
                return None
            entry = self._entries.get(term)
            if entry is not None:
                self._entries.move_to_end(term)
            return entry

    def put(self, term: int, generation: int, entry: CachedList) -> None:
        with self._lock:
            if generation != self._generation:
                self._entries.clear()
                self._bytes, self._generation = 0, generation
            if entry.nbytes > self.budget:
                return
            old = self._entries.pop(term, None)  # the same list at an older average length
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[term] = entry
            self._bytes += entry.nbytes
            while self._bytes > self.budget:
                _, old = self._entries.popitem(last=False)
                self._bytes -= old.nbytes
