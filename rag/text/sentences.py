"""Sentences and clauses of Chinese (and Western) text, as spans into the text."""

from __future__ import annotations

import re

from rag.text.chars import CLOSERS, COLONS, ELLIPSIS, ENUMERATION_COMMA, SENTENCE_END, char_class

# A sentence ends at Chinese or Western terminal punctuation, together with any closing
# quotes or brackets that follow it ("…说。”" ends after the quote).
_SENTENCE_END = re.compile(
    rf"(?:{char_class(SENTENCE_END)}|{ELLIPSIS}{{1,2}}|\.{{3,}}){char_class(CLOSERS)}*"
)
CREDIT_CHARS = 10


# A colon or ASCII comma before a digit is a ratio or a thousands separator ("1：7", "2,400").
def _clause_end(commas: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?:{char_class(commas)}|{char_class(',', COLONS)}(?!\d)){char_class(CLOSERS)}*"
    )


_CLAUSE_END = _clause_end("，" + ENUMERATION_COMMA)
_CLAUSE_END_WHOLE = _clause_end("，")  # the items of a list stay in one clause


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (a trailing piece without punctuation included)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > pos:
            spans.append((pos, m.end()))
            pos = m.end()
    if pos < len(text) and text[pos:].strip():
        tail = text[pos:].strip()
        if spans and len(tail) <= CREDIT_CHARS:
            # A short unpunctuated tail is a credit ("王某某摄", "某图片社供图"): keep it
            # with the sentence it belongs to.
            spans[-1] = (spans[-1][0], len(text))
        else:
            spans.append((pos, len(text)))
    return [_strip_span(text, s, e) for s, e in spans if text[s:e].strip()]


def split_clauses(text: str, start: int, end: int, items: bool = True) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` after commas and colons, and after enumeration commas unless
    ``items`` is false (an answer's clause keeps a list whole: "通过修复老街、引入…等方式")."""
    spans: list[tuple[int, int]] = []
    pos = start
    for m in (_CLAUSE_END if items else _CLAUSE_END_WHOLE).finditer(text, start, end):
        spans.append((pos, m.end()))
        pos = m.end()
    if pos < end:
        spans.append((pos, end))
    return spans


def _strip_span(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e
