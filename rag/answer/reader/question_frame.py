"""Where in a sentence the answer sits: the slot framed by the question's own words.

A question is a statement with a hole in it: "码头是由谁出资修建的" reads "…由 _ 出资修建…".
A sentence that holds the words on both sides of the hole, close together, holds the answer
between them ("码头由某某航运公司出资修建"). One side is enough when the other is missing
from the sentence: the answer then runs from that side to the clause break
("销往 _" → "销往甲省、乙省、丙省等地，…").

This needs no name tagger, so it finds the transliterated names, titles and organisations
that jieba's tagger misses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.reader.question_words import HOLE, NO_SLOT, OPEN_END, WHY
from rag.text.chars import COLONS, COMMAS, ENUMERATION_COMMA, SENTENCE_END, STOPS, char_class

_END = char_class(STOPS, ".", also=r"\s")
_TAIL = re.compile(f"{_END}*(?:吗|呢|啊)?{_END}*$")
# Words at the edge of a slot that belong to the frame, not to the answer.
_EDGE = "的是为了在于由被将把" + COLONS + COMMAS + ENUMERATION_COMMA + " "
_BREAK = COMMAS + SENTENCE_END + COLONS + "\n"
MAX_GAP = 40  # characters between the two sides: further apart, they frame other things
MAX_SIDE = 12  # characters of the question matched on either side


@dataclass(frozen=True, slots=True)
class Frame:
    """The question's words before and after its question word (folded, see ``fold``)."""

    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Slot:
    start: int
    end: int
    whole: bool  # every side the question has was found; else one side, to the clause break


def frame(question: str) -> Frame | None:
    """The frame around the question word of a folded question, or None for a question
    whose answer is not a slot (why, how, yes/no)."""
    if WHY.search(question) or NO_SLOT.search(question):
        return None
    m = HOLE.search(question)
    if m is not None:
        before = question[: m.start()].strip()
        after = _TAIL.sub("", question[m.end() :]).strip()
    elif (end := OPEN_END.search(question)) is not None:
        before, after = question[: end.end()].rstrip("?？ "), ""
    else:
        return None
    if not before and not after:
        return None
    return Frame(before[-MAX_SIDE:], after[:MAX_SIDE])


def find_slot(f: Frame, text: str, bounds: frozenset[int] | None = None) -> Slot | None:
    """The slot of ``text`` (folded like the question) that the frame points at, if any. With
    ``bounds`` (where the text's words start and end), a side must match up to a word's edge:
    "状态" is no frame for the "状" inside "晶状固体"."""
    # "主席是谁" is answered by "主席为…" as often as by "主席是…": a copula ending the left
    # side may differ in the source.
    # So may an aspect particle: "增加到了多少" is answered by "…增加到120个".
    lefts = max(
        _suffix_hits(f.before, text),
        _suffix_hits(f.before.rstrip("是为"), text),
        _suffix_hits(f.before.removesuffix("了"), text),
        key=lambda hits: _len(hits[0]) if hits else 0,
    )
    rights = _prefix_hits(f.after, text)
    if bounds is not None:
        lefts = [(s, e) for s, e in lefts if e in bounds]
        rights = [(s, e) for s, e in rights if s in bounds]
    # The source often drops the words next to the hole that only narrow it down ("已在几个
    # 海外市场细分品类建立…" is answered by "…已在5个品类建立…"): the right side may also
    # match from inside the question's words, when enough of the left side anchors it (the
    # left hits are all of one length).
    paired = rights
    if lefts and _enough(lefts[0], f.before):
        inner = _inner_hits(f.after, text)
        paired = rights + [(s, e) for s, e in inner if bounds is None or s in bounds]
    best: tuple[int, int, int] | None = None  # (matched chars, start, end)
    for ls, le in lefts:
        for rs, re_ in paired:
            if le < rs <= le + MAX_GAP and not any(c in _BREAK for c in text[le:rs]):
                matched = (le - ls) + (re_ - rs)
                if matched >= 3 and (best is None or matched > best[0]):
                    best = (matched, le, rs)
    if best is not None:
        return _trimmed(text, best[1], best[2], True)
    # One side: the longer match wins; the hole runs to the clause break on the other side.
    left = max(lefts, key=lambda s: s[1] - s[0], default=None)
    right = max(rights, key=lambda s: s[1] - s[0], default=None)
    if left is not None and _len(left) >= 2 and (right is None or _len(left) >= _len(right)):
        end = left[1]
        while end < len(text) and text[end] not in _BREAK:
            end += 1
        return _trimmed(text, left[1], end, not f.after and _enough(left, f.before))
    if right is not None and _len(right) >= 2:
        start = right[0]
        while start > 0 and text[start - 1] not in _BREAK:
            start -= 1
        return _trimmed(text, start, right[0], not f.before and _enough(right, f.after))
    return None


def _len(span: tuple[int, int]) -> int:
    return span[1] - span[0]


def _enough(match: tuple[int, int], side: str) -> bool:
    """One side alone frames the answer if enough of it was found: two characters ("海关")
    turn up anywhere."""
    return _len(match) >= min(3, len(side))


def _suffix_hits(words: str, text: str) -> list[tuple[int, int]]:
    """Where the longest tail of ``words`` found in ``text`` occurs (1 character at least)."""
    for n in range(len(words), 0, -1):
        hits = occurrences(words[-n:], text)
        if hits:
            return hits
    return []


def _prefix_hits(words: str, text: str) -> list[tuple[int, int]]:
    for n in range(len(words), 0, -1):
        hits = occurrences(words[:n], text)
        if hits:
            return hits
    return []


def _inner_hits(words: str, text: str) -> list[tuple[int, int]]:
    """Per start inside ``words`` (after its first character), where the longest run from
    there, of two characters at least, occurs in ``text``."""
    hits: set[tuple[int, int]] = set()
    for start in range(1, len(words) - 1):
        for n in range(len(words) - start, 1, -1):
            found = occurrences(words[start : start + n], text)
            if found:
                hits.update(found)
                break
    return sorted(hits)


def occurrences(needle: str, text: str) -> list[tuple[int, int]]:
    """Every occurrence of ``needle`` in ``text`` (overlapping ones included)."""
    if not needle.strip() or needle not in text:
        return []
    hits = []
    i = text.find(needle)
    while i >= 0:
        hits.append((i, i + len(needle)))
        i = text.find(needle, i + 1)
    return hits


def _trimmed(text: str, start: int, end: int, whole: bool) -> Slot | None:
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return Slot(start, end, whole) if end > start else None
