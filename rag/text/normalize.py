"""Text normalisation shared by indexing and querying: width, script and whitespace."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from typing import Any

from rag.text.chars import CLAUSE_END, CLOSERS, ELLIPSIS, OPENERS, STOPS

_WS = re.compile(r"\s+")
# Full-width ASCII variants (！ to ～) map to ASCII by a fixed offset; U+3000 is the ideographic space.
_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@lru_cache(maxsize=1)
def _t2s() -> Any:
    from opencc import OpenCC  # pure-Python converter; its dictionaries ship with the package

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _triggers() -> frozenset[str]:
    """Characters without which opencc's t2s leaves a text unchanged.

    A character that t2s maps to another, and in the phrase entries whose key holds none of
    those ("一目瞭然" → "一目了然"), the characters that differ. Text with none of them is
    already simplified: the check is ~50× cheaper than converting, and most text is.
    """
    folder = files("opencc") / "dictionary"
    found: set[str] = set()
    for line in (folder / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        key, values = line.split("\t", 1)
        if values.split()[0] != key:
            found.add(key)
    for line in (folder / "TSPhrases.txt").read_text(encoding="utf-8").splitlines():
        key, values = line.split("\t", 1)
        value = values.split()[0]
        if value != key and found.isdisjoint(key):
            if len(value) == len(key):
                found.update(k for k, v in zip(key, value, strict=True) if k != v)
            else:
                found.update(key)
    return frozenset(found)


def half_width(text: str) -> str:
    """Full-width letters, digits and ASCII punctuation to their half-width forms."""
    return text.translate(_WIDTH)


# Where a text may be cut before conversion: punctuation and spaces that no key of t2s's
# dictionaries holds (checked in ``_pieces``), so no phrase match can cross them.
_BREAKS = STOPS + ELLIPSIS + CLAUSE_END + OPENERS + CLOSERS + " \t\n"
# Texts up to this long are converted whole; longer ones piece by piece.
_WHOLE = 24


@lru_cache(maxsize=1)
def _pieces() -> re.Pattern[str]:
    folder = files("opencc") / "dictionary"
    keys: set[str] = set()
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            keys.update(line.split("\t", 1)[0])
    breaks = "".join(c for c in _BREAKS if c not in keys)
    return re.compile(f"[^{re.escape(breaks)}]+")


def _convert(text: str) -> str:
    return str(_t2s().convert(text))


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified (no-op on simplified text).

    opencc's converter is pure Python (~2 ms for a 300-character paragraph): a long text is
    converted only in the pieces between punctuation that hold a character t2s changes,
    which gives the same result, since no dictionary key spans those marks.
    """
    triggers = _triggers()
    if triggers.isdisjoint(text):
        return text
    if len(text) <= _WHOLE:
        return _convert(text)
    return _pieces().sub(lambda m: m[0] if triggers.isdisjoint(m[0]) else _convert(m[0]), text)


def normalize(text: str) -> str:
    """Canonical form for matching: half width, simplified script, single spaces, stripped."""
    return _WS.sub(" ", to_simplified(half_width(text))).strip()


def fold(text: str) -> str:
    """Width, script and case folded, keeping every character's offset, so that what is
    found in the folded text can be cut from the original (script conversion that would
    change the length is skipped)."""
    folded = to_simplified(half_width(text)).lower()
    if len(folded) != len(text):
        folded = half_width(text).lower()
    return folded if len(folded) == len(text) else text
