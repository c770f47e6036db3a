"""BM25 over jieba tokens (search-mode cut, Chinese stopwords), backed by ``bm25s``."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rag.normalize import normalize

_KEEP = re.compile(r"[\w\u4e00-\u9fff]")
_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    text = resources.files("rag").joinpath("data/stopwords_zh.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens of normalised, lower-cased text, minus stopwords and punctuation.

    Search mode also emits the parts of long words ("生物医药" gives "生物", "医药",
    "生物医药"), so a question phrased with the short word still matches.
    """
    stop = stopwords()
    return [
        t
        for t in (w.strip().lower() for w in _jieba().cut_for_search(normalize(text)))
        if t and t not in stop and _KEEP.search(t)
    ]


def in_dictionary(word: str) -> bool:
    """Whether jieba knows ``word`` (words its HMM invents for unknown text are not)."""
    return bool(_jieba().dt.FREQ.get(word))


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Search-mode jieba tokens of already-normalised ``text`` with their offsets."""
    return [(w.lower(), s, e) for w, s, e in _jieba().tokenize(text, mode="search")]


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
