"""Text normalisation shared by indexing and querying: width, script and whitespace."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from typing import Any

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


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified (no-op on simplified text)."""
    if _triggers().isdisjoint(text):
        return text
    return str(_t2s().convert(text))


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
