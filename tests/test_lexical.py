"""jieba BM25: Chinese text really is split into words, stopwords go, scores rank."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.lexical import (
    BM25Params,
    CachedList,
    KeyIndex,
    ListCache,
    LongList,
    Postings,
    _look_up,
    idf,
    impacts,
    invert,
    pruned_top_scores,
    score,
    top_scores,
    unseen_idf,
)
from rag.text.tokens import tokenize
from tests.conftest import SEEDS


def test_a_chinese_sentence_yields_many_tokens() -> None:
    tokens = tokenize("兰州高新区目前集聚了多少家生物医药企业？")
    assert len(tokens) > 5
    assert {"兰州", "高新区", "生物医药", "企业"} <= set(tokens)
    assert (
        "了" not in tokens and "多少" not in tokens and "？" not in tokens
    )  # stopwords, punctuation


def test_traditional_and_full_width_normalise_to_the_same_tokens() -> None:
    assert tokenize("蘭州高新區生物醫藥企業") == tokenize("兰州高新区生物医药企业")
    assert tokenize("ＡＩ芯片") == tokenize("AI芯片")


def _scores(docs: list[list[str]], query: list[str]) -> dict[int, float]:
    """Our BM25 over ``docs`` (keys are row numbers), as the local store computes it."""
    postings, df = invert(list(range(len(docs))), [d or ["\x00"] for d in docs])
    n = len(docs)
    avglen = sum(max(len(d), 1) for d in docs) / n
    parts = [
        score(postings[t], idf(df[t], n), avglen, BM25Params()) for t in query if t in postings
    ]
    return dict(top_scores(parts, n))


def test_bm25_ranks_the_matching_chunk_first() -> None:
    docs = [tokenize(t) for t in ["光谷瞪羚企业累计达1690家", "兰州高新区集聚生物医药企业", ""]]
    scores = _scores(docs, tokenize("瞪羚企业有多少家"))
    assert max(scores, key=lambda r: scores[r]) == 0
    assert not _scores(docs, tokenize("完全无关的词语"))


def test_bm25_scores_equal_bm25s_lucene_on_the_seed_text() -> None:
    import bm25s

    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    docs = [tokenize(s) for s in text.split("。") if s.strip()][:400]
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index([d or ["\x00"] for d in docs], show_progress=False)
    for question in ["光谷瞪羚企业累计达到多少家", "高新区 生物医药 产业", "创新 发展 企业 企业"]:
        query = [t for t in tokenize(question) if t in reference.vocab_dict]
        expected = np.asarray(reference.get_scores(query))
        ours = _scores(docs, tokenize(question))
        got = np.zeros(len(docs))
        for row, value in ours.items():
            got[row] = value
        assert np.allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_idf_is_higher_for_rarer_tokens() -> None:
    _, df = invert([0, 1, 2], [["企业", "光谷"], ["企业"], ["企业", "兰州"]])
    assert idf(df["光谷"], 3) > idf(df["企业"], 3) > 0
    assert unseen_idf(3) > idf(df["光谷"], 3)


def test_postings_survive_encoding_and_drop_deleted_chunks() -> None:
    postings, _ = invert([5, 9, 12], [["a", "b"], ["a"], ["a", "a"]])
    again = Postings.decode(*postings["a"].encode())
    assert again.ids.tolist() == [5, 9, 12] and again.tf.tolist() == [1, 1, 2]
    assert again.length.tolist() == [2, 1, 2]
    assert again.without(np.array([9])).ids.tolist() == [5, 12]


def _parts(*lists: dict[int, float]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (np.array(sorted(d), dtype=np.uint32), np.array([d[i] for i in sorted(d)], np.float32))
        for d in lists
    ]


def test_top_scores_break_ties_at_the_cut_by_key_on_both_paths() -> None:
    # Ten chunks tie; the best three by key win, whatever order selection visits them in.
    tied = {key: 1.0 for key in range(30, 10, -2)}
    dense = _parts(tied, {31: 0.5, 33: 0.25})  # few keys, small range: one accumulator
    sparse = _parts({k * 1000: v for k, v in tied.items()}, {31_000: 0.5})  # wide range
    assert [k for k, _ in top_scores(dense, 4)] == [12, 14, 16, 18]
    assert [k for k, _ in top_scores(sparse, 4)] == [12_000, 14_000, 16_000, 18_000]
    assert top_scores(dense, 1) == [(12, 1.0)]


def test_top_scores_leave_out_excluded_keys() -> None:
    parts = _parts({1: 3.0, 2: 2.0, 3: 1.0}, {1: 1.0, 4: 0.5})
    gone = np.array([1, 99], dtype=np.int64)
    assert [k for k, _ in top_scores(parts, 2, exclude=gone)] == [2, 3]
    wide = _parts({1: 3.0, 200_000: 2.0}, {1: 1.0, 300_000: 0.5})
    assert [k for k, _ in top_scores(wide, 5, exclude=gone)] == [200_000, 300_000]


def test_top_scores_sum_every_term_of_a_chunk() -> None:
    # Chunk 7 is only second in each list but first in total: the floor must not drop it.
    parts = _parts({i: 1.0 for i in range(50)} | {7: 0.9}, {7: 0.9, 60: 1.0})
    assert top_scores(parts, 1) == [(7, pytest.approx(1.8))]


def _random_lists(rng: np.random.Generator, terms: int, n: int) -> list[Postings]:
    """Posting lists of very different lengths over ``n`` chunks (ties in tf and length)."""
    out = []
    for t in range(terms):
        size = int(rng.integers(1, n)) if t % 3 else int(rng.integers(1, 12))
        ids = np.sort(rng.choice(n, size=size, replace=False)).astype(np.uint32)
        tf = rng.integers(1, 4, size=size).astype(np.uint16)
        length = rng.integers(5, 40, size=size).astype(np.uint16)
        out.append(Postings(ids, tf, length))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_maxscore_equals_scoring_every_list(seed: int) -> None:
    rng = np.random.default_rng(seed)
    params, n, avglen = BM25Params(), 3000, 20.0
    lists = _random_lists(rng, int(rng.integers(1, 9)), n)
    counts = rng.integers(1, 3, size=len(lists)).tolist()
    idfs = [idf(len(p.ids), n) for p in lists]
    every = [
        (score(p, w, avglen, params)[0], score(p, w, avglen, params)[1] * c)
        for p, w, c in zip(lists, idfs, counts, strict=True)
    ]
    dead = rng.choice(n, size=30, replace=False).astype(np.int64)
    long_at = int(rng.integers(5, 400))  # lists at least this long are pruned
    parts = [e for e, p in zip(every, lists, strict=True) if len(p.ids) < long_at]
    long = [
        LongList.of(
            CachedList.of(
                p,
                avglen,
                params,
                batch=0,
                index=KeyIndex.build(p.ids) if seed % 2 else None,  # both ways of finding a key
            ),
            w,
            c,
        )
        for p, w, c in zip(lists, idfs, counts, strict=True)
        if len(p.ids) >= long_at
    ]
    for k in (1, 10, 50):
        want = top_scores(every, k, exclude=dead)
        got = pruned_top_scores(parts, long, k, exclude=dead)
        assert [key for key, _ in got] == [key for key, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want], rtol=1e-6)


@pytest.mark.parametrize("size", [1, 63, 64, 65, 5000])
def test_a_list_scores_the_same_keys_through_its_bitmap_and_by_binary_search(size: int) -> None:
    rng = np.random.default_rng(size)
    params = BM25Params()
    keys = np.sort(rng.choice(20_000, size=size, replace=False)).astype(np.uint32)
    tf = rng.integers(1, 4, size=size).astype(np.uint16)
    postings = Postings(keys, tf, rng.integers(5, 40, size=size).astype(np.uint16))
    needles = np.concatenate([rng.integers(0, 25_000, 3000), keys[:50], [0, 63, 64, 24_999]])
    needles = np.unique(needles).astype(np.int64)  # ascending, as a search looks them up
    start = rng.random(len(needles))
    # numpy's reference: the list's scores added to the keys it holds
    pos = np.minimum(np.searchsorted(keys, needles), size - 1)
    held = keys[pos] == needles
    _, values = score(postings, 1.7, 20.0, params)
    want = start.copy()
    want[held] += values[pos[held]] * 2
    for index in (KeyIndex.build(keys), None):
        lst = LongList.of(CachedList.of(postings, 20.0, params, 0, index), 1.7, 2)
        got, sums = needles.copy(), start.copy()
        assert _look_up(lst, got, sums, len(got), 0.0, -np.inf) == len(needles)
        assert got.tolist() == needles.tolist() and sums.tolist() == want.tolist()
        got, sums = needles.copy(), start.copy()  # now keep the sums that reach 0.5
        kept = _look_up(lst, got, sums, len(got), 0.5, 1.0)
        reach = want + 0.5 >= 1.0
        assert got[:kept].tolist() == needles[reach].tolist()
        assert sums[:kept].tolist() == want[reach].tolist()


def test_a_cached_list_holds_its_impacts_at_the_average_length_it_was_read_at() -> None:
    params = BM25Params()
    p = Postings(
        np.arange(4, dtype=np.uint32),
        np.array([1, 3, 2, 1], dtype=np.uint16),
        np.array([3, 50, 9, 400], dtype=np.uint16),
    )
    for avglen in (5.0, 13.0, 900.0):
        entry = CachedList.of(p, avglen, params, batch=3)
        want = impacts(p.tf, p.length, avglen, params)
        assert entry.impacts.tolist() == want.tolist() and entry.bound == float(want.max())
        assert (entry.avglen, entry.batch) == (avglen, 3) and entry.ids is p.ids


def test_the_list_cache_keeps_one_generation_within_its_budget() -> None:
    def entry(size: int, avglen: float = 1.0) -> CachedList:
        ids = np.arange(size, dtype=np.uint32)
        ones = np.ones(size, dtype=np.uint16)
        return CachedList.of(Postings(ids, ones, ones), avglen, BM25Params(), 0)

    cache = ListCache(budget_bytes=8 * 250)  # 8 bytes a posting: its key and its impact
    cache.put(1, 0, entry(100))
    cache.put(2, 0, entry(100))
    assert cache.get(1, 0) is not None  # 1 is now the most recently used
    cache.put(3, 0, entry(100))  # over budget: 2 goes
    assert cache.get(2, 0) is None and cache.get(1, 0) is not None
    assert cache.get(1, 1) is None  # another generation of the lists
    cache.put(4, 1, entry(10))
    assert cache.get(1, 0) is None and cache.get(4, 1) is not None
    cache.put(4, 1, entry(10, avglen=2.0))  # after a write: the list read again
    cache.put(5, 1, entry(200))  # fits beside the one entry 4 left
    assert cache.get(4, 1).avglen == 2.0 and cache.get(5, 1) is not None  # type: ignore[union-attr]
