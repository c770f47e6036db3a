"""The inner loops of pruned BM25, compiled by numba: one pass over the keys per posting list.

In numpy every step of a lookup (find a key, read its impact, add, drop the chunks that can
no longer reach the top k) is an array operation of its own, a dozen per list and ~20 lists
per query at 1M chunks: their fixed cost, not the data, was most of a search. Each function
here does one list's work in one call. A long list's impacts come computed by numpy
(``lexical.impacts``, kept with the list), and the rest follows numpy's float operations
exactly (a posting's score is ``float32(float32(idf) * impact) * float32(count)``, summed in
float64), so results equal the numpy reference bit for bit; the tests compare them.

numba is imported only when a search meets a long list (an index of some 100k chunks), and
compiles these functions once per machine into its cache (``cache=True``): a small index
never loads it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M1, _M2, _M4 = 0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F
_H01 = 0x0101010101010101


@njit(inline="always")
def _popcount(x: np.uint64) -> np.int64:
    # the standard SWAR count, which LLVM compiles to one popcnt instruction
    x = x - ((x >> np.uint64(1)) & np.uint64(_M1))
    x = (x & np.uint64(_M2)) + ((x >> np.uint64(2)) & np.uint64(_M2))
    x = (x + (x >> np.uint64(4))) & np.uint64(_M4)
    return np.int64((x * np.uint64(_H01)) >> np.uint64(56))


@njit(inline="always")
def _add(sums: np.ndarray, key: int, value: float, fresh: np.ndarray, n: int) -> int:
    # Branch-free: whether a key is new is a coin toss the CPU cannot predict, and a
    # mispredicted branch cost more than the write (3x slower at 1M chunks).
    s = sums[key]
    fresh[n] = key
    sums[key] = s + value
    return n + (1 if s == 0.0 else 0)  # touched first: every score is positive


@njit(nogil=True, cache=True)
def add_part(sums: np.ndarray, ids: np.ndarray, values: np.ndarray, fresh: np.ndarray) -> int:
    """``sums[ids] += values``; the keys whose sum was still 0 go to ``fresh`` (their count
    is returned). Keys are distinct within a part."""
    n = 0
    for j in range(ids.shape[0]):
        n = _add(sums, int(ids[j]), float(values[j]), fresh, n)
    return n


@njit(nogil=True, cache=True)
def add_list(
    sums: np.ndarray,
    ids: np.ndarray,
    impacts: np.ndarray,
    weight: np.float32,
    count: np.float32,
    fresh: np.ndarray,
) -> int:
    """``add_part`` of a whole long list, its scores computed on the way."""
    n = 0
    for j in range(ids.shape[0]):
        value = float((weight * impacts[j]) * count)
        n = _add(sums, int(ids[j]), value, fresh, n)
    return n


@njit(nogil=True, cache=True)
def at_least(sums: np.ndarray, ids: np.ndarray, floor: float, out: np.ndarray) -> int:
    """The keys of ``ids`` whose sum reaches ``floor``, into ``out``; how many."""
    n = 0
    for j in range(ids.shape[0]):
        out[n] = ids[j]  # branch-free, as in ``_add``
        n += 1 if sums[ids[j]] >= floor else 0
    return n


@njit(inline="always")
def _position(words: np.ndarray, before: np.ndarray, ids: np.ndarray, key: int, lo: int) -> int:
    """Where ``key`` is in the list, negative when absent: through its key bitmap when it has
    one (``words`` not empty), else by a binary search of ``ids`` from ``lo`` on (then an
    absent key gives -2 minus the place it would take)."""
    if words.shape[0]:
        w = key >> 6
        if w >= words.shape[0]:
            return -1
        x = words[w]
        bit = np.uint64(1) << np.uint64(key & 63)
        if not x & bit:
            return -1
        return int(before[w] + _popcount(x & (bit - np.uint64(1))))
    hi = ids.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if np.int64(ids[mid]) < key:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < ids.shape[0] and np.int64(ids[lo]) == key else -lo - 2


@njit(nogil=True, cache=True)
def look_up(
    words: np.ndarray,
    before: np.ndarray,
    ids: np.ndarray,
    impacts: np.ndarray,
    weight: np.float32,
    count: np.float32,
    keys: np.ndarray,
    sums: np.ndarray,
    n: int,
    left: float,
    theta: float,
) -> int:
    """Add one list's scores to the sums of the first ``n`` ``keys`` that it holds, then keep,
    in place, those whose sum plus ``left`` reaches ``theta``; returns how many. Keys are
    found through the list's bitmap (``words``, ``before``) or, when ``words`` is empty, by
    binary searches each starting where the last one ended (the keys must then ascend)."""
    kept = 0
    lo = 0
    for j in range(n):
        key = keys[j]
        s = sums[j]
        at = _position(words, before, ids, key, lo)
        if at >= 0:
            s += np.float64((weight * impacts[at]) * count)
            lo = at
        elif not words.shape[0]:
            lo = -at - 2  # where the absent key would go
        keys[kept] = key  # branch-free, as in ``_add``
        sums[kept] = s
        kept += 1 if s + left >= theta else 0
    return kept
