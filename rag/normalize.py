"""Text normalisation shared by indexing and querying: width, script and whitespace."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_WS = re.compile(r"\s+")
# Full-width ASCII variants (！ to ～) map to ASCII by a fixed offset; U+3000 is the ideographic space.
_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@lru_cache(maxsize=1)
def _t2s() -> Any:
    from opencc import OpenCC  # pure-Python converter; its dictionaries ship with the package

    return OpenCC("t2s")


def half_width(text: str) -> str:
    """Full-width letters, digits and ASCII punctuation to their half-width forms."""
    return text.translate(_WIDTH)


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to simplified (no-op on simplified text)."""
    return str(_t2s().convert(text))


def normalize(text: str) -> str:
    """Canonical form for matching: half width, simplified script, single spaces, stripped."""
    return _WS.sub(" ", to_simplified(half_width(text))).strip()


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
