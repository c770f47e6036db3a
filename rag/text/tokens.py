"""Chinese tokens for lexical search: jieba search-mode cut, lower-cased, minus stopwords."""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from importlib import resources
from typing import Any

from rag.text.chars import HAN
from rag.text.normalize import normalize

_KEEP = re.compile(rf"[\w{HAN}]")
_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    text = resources.files("rag.text").joinpath("data/stopwords_zh.txt").read_text(encoding="utf-8")
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
    if len(text) <= _SHORT:  # a question: the search and the answerer both tokenise it
        return list(_short_tokens(text))
    return _tokens(text)


_SHORT = 200  # characters: texts this short are remembered (questions, not chunks)


@lru_cache(maxsize=2048)
def _short_tokens(text: str) -> tuple[str, ...]:
    return tuple(_tokens(text))


def _tokens(text: str) -> list[str]:
    stop = stopwords()
    return [
        t
        for t in (w.strip().lower() for w in _jieba().cut_for_search(normalize(text)))
        if t and t not in stop and _KEEP.search(t)
    ]


def in_dictionary(word: str) -> bool:
    """Whether jieba knows ``word`` (words its HMM invents for unknown text are not)."""
    return bool(_jieba().dt.FREQ.get(word))


def word_frequency(word: str) -> int:
    """How often ``word`` occurs in jieba's dictionary corpus (0 for a word it does not know)."""
    return int(_jieba().dt.FREQ.get(word) or 0)


def word_bounds(text: str) -> frozenset[int]:
    """The offsets where jieba's words of ``text`` start and end (its default cut)."""
    return frozenset(i for _, s, e in _jieba().tokenize(text) for i in (s, e))


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Search-mode jieba tokens of already-normalised ``text`` with their offsets."""
    return [(w.lower(), s, e) for w, s, e in _jieba().tokenize(text, mode="search")]
