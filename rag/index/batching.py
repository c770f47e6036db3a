"""Micro-batching of query embeddings: concurrent ``embed_query`` calls share model calls.

A server thread that asks for a query vector hands its text to the worker threads and sleeps
on a condition variable. A free worker takes its share of the texts waiting, and while
queries are arriving together (the previous batch held more than one) lingers up to
``wait_ms`` for more, then embeds them in one batch call and wakes each caller with its own
row, or with the batch's exception. A lone query is embedded at once, so concurrency 1 pays
no wait.

There is one worker unless the embedder says how many concurrent calls pay
(``query_workers``): the ONNX backend runs each query on one core, as a short query gains
almost nothing from a second intra-op thread and pays for synchronising it, so two workers
on two cores embed nearly twice the queries a single two-thread call does.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.config import Settings
from rag.index.embeddings import Embedder

DEFAULT_MAX_BATCH = 32


@dataclass
class _Request:
    text: str
    done: threading.Event = field(default_factory=threading.Event)
    vector: np.ndarray | None = None
    error: BaseException | None = None
    on_done: Callable[[], object] | None = None  # called on the worker once done is set


def batch_query_fn(embedder: Embedder) -> Callable[[Sequence[str]], np.ndarray]:
    """The embedder's own batch call for queries, or one call per text when it has none."""
    many = getattr(embedder, "embed_queries", None)
    if many is not None:
        return many
    return lambda texts: np.stack([embedder.embed_query(t) for t in texts])


class BatchingEmbedder:
    """Wraps an :class:`Embedder`; same name, dimension and vectors, batched queries."""

    def __init__(
        self,
        inner: Embedder,
        wait_ms: float = 2.0,
        max_batch: int = DEFAULT_MAX_BATCH,
        workers: int | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.wait_s = max(wait_ms, 0.0) / 1000.0
        self.max_batch = max(max_batch, 1)
        self._embed_many = batch_query_fn(inner)
        self.workers = max(workers or int(getattr(inner, "query_workers", 1)), 1)
        self._queue: list[_Request] = []
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._busy = False  # the last batch had company: arrivals are overlapping
        self.batches = 0  # model calls made, for tests and metrics

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def __getattr__(self, attr: str) -> Any:
        # the rest of the inner embedder (count_tokens, format...) shows through unchanged
        if attr == "inner":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def embed_query(self, text: str) -> np.ndarray:
        req = _Request(text)
        self._submit(req)
        req.done.wait()
        return _result(req)

    async def embed_query_async(self, text: str) -> np.ndarray:
        """:meth:`embed_query` for an event loop: the caller awaits instead of blocking a
        thread; the model still runs on the workers, batched with every other query."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        req = _Request(text, on_done=lambda: loop.call_soon_threadsafe(wake))
        self._submit(req)
        await woken
        return _result(req)

    def _submit(self, req: _Request) -> None:
        with self._cond:
            # started on first use, not at import; started again where one is gone (a forked
            # child process has none of its parent's threads)
            alive = [t for t in self._threads if t.is_alive()]
            for _ in range(self.workers - len(alive)):
                worker = threading.Thread(target=self._serve, name="query-batcher", daemon=True)
                worker.start()
                alive.append(worker)
            self._threads = alive
            self._queue.append(req)
            self._cond.notify_all()

    def _take(self) -> list[_Request]:
        """Block until a query waits; then collect this worker's share (lingering under load)."""
        with self._cond:
            while not self._queue:
                self._cond.wait()
            if self._busy and self.wait_s:
                deadline = time.monotonic() + self.wait_s
                while len(self._queue) < self.max_batch:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            # an even share, so that the other workers find queries waiting too
            size = min(self.max_batch, math.ceil(len(self._queue) / self.workers))
            batch, self._queue = self._queue[:size], self._queue[size:]
            return batch

    def _serve(self) -> None:
        while True:
            batch = self._take()
            try:
                vectors = self._embed_many([r.text for r in batch])
                for req, vec in zip(batch, vectors, strict=True):
                    req.vector = np.asarray(vec, dtype=np.float32)
            except BaseException as exc:  # each caller re-raises it in its own thread
                for req in batch:
                    req.error = exc
            self.batches += 1
            with self._cond:
                self._busy = len(batch) > 1 or bool(self._queue)
            for req in batch:
                req.done.set()
                if req.on_done is not None:
                    # a closed event loop (RuntimeError): nobody waits for it any more
                    with contextlib.suppress(RuntimeError):
                        req.on_done()


def _result(req: _Request) -> np.ndarray:
    if req.error is not None:
        raise req.error
    assert req.vector is not None
    return req.vector


def batched(embedder: Embedder, settings: Settings) -> BatchingEmbedder:
    """``embedder`` behind a :class:`BatchingEmbedder` with the configured linger and batch
    size; with batches of one, a single worker (one query in the model at a time)."""
    single = settings.query_max_batch == 1
    return BatchingEmbedder(
        embedder, settings.query_batch_wait_ms, settings.query_max_batch, 1 if single else None
    )
