"""The query micro-batcher: concurrent callers share model calls, each gets its own vector."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from rag.config import Settings
from rag.index.batching import BatchingEmbedder, batched
from rag.index.embeddings import HashEmbedder


class SlowEmbedder(HashEmbedder):
    """A hash embedder whose batch call takes a while and records each batch."""

    def __init__(self, delay: float = 0.02) -> None:
        super().__init__()
        self.delay = delay
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
        time.sleep(self.delay)
        if "boom" in texts:
            raise ValueError("model failed")
        return np.stack([self.embed_query(t) for t in texts])


def _call_all(batcher: BatchingEmbedder, texts: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    start = threading.Barrier(len(texts))

    def one(text: str) -> None:
        start.wait()
        try:
            out[text] = batcher.embed_query(text)
        except Exception as exc:
            out[text] = exc

    threads = [threading.Thread(target=one, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return out


def test_concurrent_queries_share_batches_and_get_their_own_vectors() -> None:
    inner = SlowEmbedder()
    batcher = BatchingEmbedder(inner, wait_ms=5)
    texts = [f"问题{i}" for i in range(32)]
    got = _call_all(batcher, texts)
    for text in texts:
        np.testing.assert_array_equal(got[text], inner.embed_query(text))
    assert len(inner.calls) < len(texts) / 2  # batched, not one call each
    assert sum(len(c) for c in inner.calls) == len(texts)


def test_lone_query_does_not_wait() -> None:
    batcher = BatchingEmbedder(SlowEmbedder(delay=0), wait_ms=2000)
    batcher.embed_query("热身")
    started = time.perf_counter()
    batcher.embed_query("一个问题")
    assert time.perf_counter() - started < 1.0


def test_wait_under_load_is_bounded_and_collects_stragglers() -> None:
    inner = SlowEmbedder(delay=0.3)
    batcher = BatchingEmbedder(inner, wait_ms=300)
    lead = threading.Thread(target=batcher.embed_query, args=("甲",))
    lead.start()
    time.sleep(0.1)
    _call_all(batcher, ["乙", "戊"])  # queued together behind 甲: the batcher now lingers
    lead.join(5)
    assert sorted(inner.calls[-1]) == sorted(["乙", "戊"])
    inner.delay = 0
    calls_before = len(inner.calls)
    got: list[np.ndarray] = []
    first = threading.Thread(target=lambda: got.append(batcher.embed_query("丙")))
    started = time.perf_counter()
    first.start()
    time.sleep(0.05)
    got.append(batcher.embed_query("丁"))
    first.join(5)
    elapsed = time.perf_counter() - started
    assert len(got) == 2
    assert inner.calls[calls_before:] == [["丙", "丁"]]  # the straggler joined the batch
    assert elapsed < 0.3 + 2.0  # the linger is bounded (slack for a loaded machine)


def test_errors_reach_every_caller_of_the_batch_and_the_worker_survives() -> None:
    inner = SlowEmbedder(delay=0.05)
    batcher = BatchingEmbedder(inner, wait_ms=20)
    got = _call_all(batcher, ["boom", "a", "b", "c"])
    failed = [t for t, v in got.items() if isinstance(v, ValueError)]
    assert "boom" in failed
    for call in inner.calls:
        if "boom" in call:
            assert set(call) <= set(failed)
    np.testing.assert_array_equal(batcher.embed_query("之后"), inner.embed_query("之后"))


class ParallelEmbedder(SlowEmbedder):
    """A slow embedder that says two calls may run at once, and counts how many do."""

    query_workers = 2

    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.running = 0
        self.most_at_once = 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return super().embed_queries(texts)
        finally:
            with self.lock:
                self.running -= 1


def test_workers_share_the_waiting_queries_and_run_side_by_side() -> None:
    inner = ParallelEmbedder(delay=0.2)
    batcher = BatchingEmbedder(inner, wait_ms=0)
    assert batcher.workers == 2
    lead = threading.Thread(target=batcher.embed_query, args=("先",))
    lead.start()  # one worker busy: the queries below queue for the other
    time.sleep(0.05)
    texts = [f"问题{i}" for i in range(8)]
    got = _call_all(batcher, texts)
    lead.join(5)
    for text in texts:
        np.testing.assert_array_equal(got[text], inner.embed_query(text))
    assert inner.most_at_once == 2
    sizes = sorted(len(c) for c in inner.calls[1:])
    assert sum(sizes) == len(texts)
    assert max(sizes) <= len(texts) // 2  # a share of the queue, not all of it
    assert BatchingEmbedder(SlowEmbedder(), workers=3).workers == 3
    assert BatchingEmbedder(SlowEmbedder()).workers == 1  # concurrent calls not declared safe


def test_batches_of_one_embed_one_query_at_a_time() -> None:
    # RAG_QUERY_MAX_BATCH=1: the server as it was before it batched queries
    inner = ParallelEmbedder(delay=0.02)
    batcher = batched(inner, Settings(query_max_batch=1, query_batch_wait_ms=0))
    assert (batcher.max_batch, batcher.workers) == (1, 1)
    texts = [f"问题{i}" for i in range(6)]
    got = _call_all(batcher, texts)
    for text in texts:
        np.testing.assert_array_equal(got[text], inner.embed_query(text))
    assert [len(c) for c in inner.calls] == [1] * len(texts)
    assert inner.most_at_once == 1
    default = batched(ParallelEmbedder(delay=0), Settings())
    assert (default.max_batch, default.workers) == (32, 2)


def test_a_worker_that_is_gone_is_started_again() -> None:
    # as in a forked child process, which has none of its parent's threads
    inner = ParallelEmbedder(delay=0)
    batcher = BatchingEmbedder(inner, wait_ms=0)
    batcher.embed_query("先")
    gone = threading.Thread(target=lambda: None)
    gone.start()
    gone.join()
    batcher._threads = [gone, gone]
    got = _call_all(batcher, ["甲", "乙"])
    np.testing.assert_array_equal(got["甲"], inner.embed_query("甲"))
    np.testing.assert_array_equal(got["乙"], inner.embed_query("乙"))
    assert len(batcher._threads) == 2 and all(t.is_alive() for t in batcher._threads)


def test_batcher_shows_the_inner_embedder_through() -> None:
    inner = HashEmbedder()
    batcher = BatchingEmbedder(inner, wait_ms=0)
    assert (batcher.name, batcher.dim) == ("hash", inner.dim)
    np.testing.assert_array_equal(batcher.embed_passages(["一"]), inner.embed_passages(["一"]))
    np.testing.assert_array_equal(batcher.embed_query("二"), inner.embed_query("二"))
    with pytest.raises(AttributeError):
        _ = batcher.count_tokens  # HashEmbedder counts no tokens


def test_engine_serves_queries_through_the_batcher(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rag.engine import RagEngine

    settings = Settings(index_dir=tmp_path / "i", embedder="hash", query_batch_wait_ms=3)
    engine = RagEngine(settings)
    assert isinstance(engine.embedder, BatchingEmbedder)
    assert engine.embedder.wait_s == pytest.approx(0.003)


def test_awaiting_callers_share_batches_and_get_their_own_vectors() -> None:
    import asyncio

    inner = SlowEmbedder()
    batcher = BatchingEmbedder(inner, wait_ms=5)
    texts = [f"问题{i}" for i in range(16)]

    async def main() -> list[np.ndarray]:
        return list(await asyncio.gather(*(batcher.embed_query_async(t) for t in texts)))

    got = asyncio.run(main())
    for text, vec in zip(texts, got, strict=True):
        np.testing.assert_array_equal(vec, inner.embed_query(text))
    assert len(inner.calls) < len(texts)  # they shared model calls

    async def failing() -> None:
        await batcher.embed_query_async("boom")

    with pytest.raises(ValueError, match="model failed"):
        asyncio.run(failing())
    np.testing.assert_array_equal(batcher.embed_query("之后"), inner.embed_query("之后"))


def test_engine_search_async_finds_what_search_finds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from rag.engine import RagEngine
    from tests.conftest import SEEDS

    engine = RagEngine(
        Settings(index_dir=tmp_path / "index", corpus=[SEEDS], embedder="hash"),
        embedder=BatchingEmbedder(HashEmbedder(), wait_ms=0),
    )
    engine.build([SEEDS])
    for query in ("光谷瞪羚企业累计达到多少家？", "How many gazelle enterprises?"):
        awaited = asyncio.run(engine.search_async(query, 3))
        assert [h.chunk.chunk_id for h in awaited.hits] == [
            h.chunk.chunk_id for h in engine.search(query, 3).hits
        ]
    plain = RagEngine(Settings(index_dir=tmp_path / "index", embedder="hash"))
    assert asyncio.run(plain.search_async("兰州高新区", 2)).hits  # no batcher: a thread embeds


def test_engine_ask_async_answers_as_ask_does(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from rag.engine import RagEngine
    from tests.conftest import SEEDS

    engine = RagEngine(
        Settings(index_dir=tmp_path / "index", corpus=[SEEDS], embedder="hash"),
        embedder=BatchingEmbedder(HashEmbedder(), wait_ms=0),
    )
    engine.build([SEEDS])
    # a Chinese question is read on the loop, an English one on a thread
    for question in (
        "光谷瞪羚企业累计达到多少家？",
        "How many gazelle enterprises?",
        "今天天气如何？",
    ):
        awaited = asyncio.run(engine.ask_async(question, 3))
        plain = engine.ask(question, 3)
        assert (awaited.answered, awaited.answer) == (plain.answered, plain.answer)
        assert [c.doc_id for c in awaited.citations] == [c.doc_id for c in plain.citations]
