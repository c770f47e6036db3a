"""Character knowledge, defined once: punctuation classes, Han character ranges, numeral characters.

Every set is a plain string of characters, so it works with ``in`` and ``str.strip`` as it is
and inside a regex character class through :func:`char_class` (or, for ranges, ``f"[{HAN}]"``).
Modules that need a variant compose it from these (``SENTENCE_END + ELLIPSIS``) and say why,
rather than writing their own copy of the set.
"""

from __future__ import annotations

import re

# -- Han characters -------------------------------------------------------------------------

HAN_FIRST, HAN_LAST = "\u4e00", "\u9fff"
# CJK Unified Ideographs, the block that holds the characters of modern Chinese text; a regex
# range body: f"[{HAN}]" is one Han character, f"[^{HAN}]" anything else.
HAN = f"{HAN_FIRST}-{HAN_LAST}"
# With Extension A and the compatibility ideographs: what CMRC 2018's scorer counts as one
# character token each.
HAN_EXTENDED = f"\u3400-\u4dbf{HAN}\uf900-\ufaff"


def is_han(ch: str) -> bool:
    """Whether the character ``ch`` is a Han character of the basic block."""
    return HAN_FIRST <= ch <= HAN_LAST


def has_han(text: str) -> bool:
    """Whether ``text`` holds at least one Han character (Chinese text, not English)."""
    return any(HAN_FIRST <= ch <= HAN_LAST for ch in text)


# -- Punctuation ----------------------------------------------------------------------------

FULL_STOPS = "。！？"  # Chinese full stop, exclamation and question marks
STOPS = FULL_STOPS + "!?"  # with their Western forms (normalised text is half-width)
SEMICOLONS = "；;"
ELLIPSIS = "…"
# What ends a sentence when text is split into sentences; a semicolon ends one too, since
# Chinese writers chain whole statements with it.
SENTENCE_END = STOPS + SEMICOLONS
COMMAS = "，,"
ENUMERATION_COMMA = "、"  # between the items of a list ("越南、老挝、缅甸")
COLONS = "：:"
# What ends a clause inside a sentence.
CLAUSE_END = COMMAS + ENUMERATION_COMMA + SEMICOLONS + COLONS
# Where a phrase stops: a comma, a full stop or a semicolon (a name or place never spans one).
PHRASE_BREAK = COMMAS + "。" + SEMICOLONS
# Closing quotes and brackets, which belong with the punctuation before them ("…说。”").
CLOSERS = "”’」』\"'）)》"
# Opening quotes and brackets, and the closer each one expects.
OPENERS = "“‘「『《(（\"'"
CLOSER_OF = {"“": "”", "‘": "’", "「": "」", "『": "』", "《": "》", "(": ")", "（": "）"}


def char_class(*sets: str, negate: bool = False, also: str = "") -> str:
    r"""A regex character class of the characters in ``sets`` (``[…]``, or ``[^…]``), plus
    ``also``, written as regex (``also=r"\s"``)."""
    chars = "".join(re.escape(c) for c in dict.fromkeys("".join(sets)))
    return f"[{'^' if negate else ''}{chars}{also}]"


# -- Numerals -------------------------------------------------------------------------------

HAN_DIGIT_VALUES = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
HAN_DIGIT_VALUES |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
HAN_ZEROS = "零〇"  # also placeholders inside a numeral ("一百零五")
HAN_ONE_TO_NINE = "一二三四五六七八九"
HAN_DIGITS = "".join(HAN_DIGIT_VALUES)  # 零〇一二两三四五六七八九
# 十, 百 and 千 multiply the digit before them within a group of four; 万 and 亿 close a group.
HAN_SMALL_UNIT_VALUES = {"十": 10, "百": 100, "千": 1000}
HAN_LARGE_UNITS = "万亿"
HAN_NUMERAL = HAN_DIGITS + "".join(HAN_SMALL_UNIT_VALUES) + HAN_LARGE_UNITS
# The words that scale a figure ("1690万", "1.2亿"), longest first so a regex takes "万亿" whole.
MULTIPLIER_VALUES = {
    "万亿": 1e12,
    "千亿": 1e11,
    "百亿": 1e10,
    "亿": 1e8,
    "千万": 1e7,
    "百万": 1e6,
    "十万": 1e5,
    "万": 1e4,
    "千": 1e3,
    "百": 1e2,
}
MULTIPLIERS = tuple(MULTIPLIER_VALUES)
# A number in digits, with an optional decimal part ("1690", "3.5").
DECIMAL = r"\d+(?:\.\d+)?"
