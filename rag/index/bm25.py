"""BM25 over jieba tokens, backed by ``bm25s``, and the IDF table the reader weighs terms by."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class BM25Params:
    k1: float = 1.2
    b: float = 0.75
    method: str = "lucene"


class BM25Index:
    """Scores every chunk for a tokenised query; rebuilt whole on change (cheap: no embedding)."""

    def __init__(self, model: Any, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, corpus_tokens: Sequence[list[str]], params: BM25Params) -> BM25Index:
        import bm25s

        model = bm25s.BM25(k1=params.k1, b=params.b, method=params.method)
        # An empty document would break bm25s' vocabulary; give it a token that never matches.
        docs = [list(t) if t else ["\x00"] for t in corpus_tokens]
        if docs:
            model.index(docs, show_progress=False)
        return cls(model if docs else None, len(docs))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk (zeros when no query token is in the vocabulary)."""
        if self._model is None or not query_tokens:
            return np.zeros(self.size, dtype=np.float32)
        vocab = self._model.vocab_dict
        known = [t for t in query_tokens if t in vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)

    def save(self, directory: Path) -> None:
        if self._model is not None:
            self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> BM25Index:
        import bm25s

        if size == 0:
            return cls(None, 0)
        model = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
        return cls(model, size)


UNSEEN = "\x00unseen"


def idf_table(corpus_tokens: Sequence[list[str]]) -> dict[str, float]:
    """BM25-style IDF per token; ``UNSEEN`` holds the value for a token in no chunk."""
    df: Counter[str] = Counter()
    for tokens in corpus_tokens:
        df.update(set(tokens))
    n = max(len(corpus_tokens), 1)
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    idf[UNSEEN] = math.log(1 + (n + 0.5) / 0.5)
    return idf
