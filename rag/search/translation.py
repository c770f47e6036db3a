"""English questions searched in Chinese: the dictionary's translations a corpus actually uses.

:func:`rag.text.crosslingual.translate` lists every Chinese word an English word may stand
for; the store's vocabulary says which of them this corpus holds. Lexical search and the
reader's word-overlap features take those, so "typhoon" finds the chunks that say 台风.
"""

from __future__ import annotations

from rag.index.lexical import UNSEEN
from rag.index.store import Store
from rag.text.chars import has_han
from rag.text.crosslingual import translate
from rag.text.tokens import tokenize

# Chinese words kept per English word or phrase: its most common ones found in the corpus.
# Swept 1-6 on the train part's English seed questions (11; retrieval MRR@10, bm25 and
# hybrid): 2 and 3 tie best (hybrid 0.877, against 0.831 for 1 and for 4 or more).
PER_WORD = 2


def chinese_terms(text: str, store: Store) -> list[str]:
    """For English ``text``: the Chinese words of its translations that occur in ``store``
    (at most :data:`PER_WORD` each), then its own words that occur there verbatim (names,
    model numbers, figures). Empty for text with Han characters."""
    groups, verbatim = chinese_groups(text, store, PER_WORD)
    return list(dict.fromkeys([w for g in groups for w in g] + verbatim))


def chinese_groups(
    text: str, store: Store, per_word: int
) -> tuple[list[tuple[str, ...]], list[str]]:
    """For English ``text``: per English word or phrase, the Chinese words that translate it
    and occur in ``store`` (the most common first, at most ``per_word``); and its own words
    that occur in ``store`` verbatim. Empty for text with Han characters."""
    if has_han(text):
        return [], []
    options = translate(text)
    words = tokenize(text)  # as the index cut its text: names, model numbers, figures
    idf = store.idf([w for t in options for w in t.chinese] + words)
    known = {t for t in idf if t != UNSEEN}
    groups = [found for t in options if (found := tuple(c for c in t.chinese if c in known))]
    return [g[:per_word] for g in groups], [w for w in words if w in known]
