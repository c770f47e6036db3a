"""Which characters are text: lone surrogates, invisible format characters and visible ones.

Python strings may hold lone surrogates (JSON's ``"\\ud800"`` decodes to one) that cannot be
encoded as UTF-8, and Unicode has characters that take no space on screen (zero-width space,
bidi overrides, the byte-order mark). Input is checked with these before it reaches hashing,
storage or an id a person has to type.
"""

from __future__ import annotations

import unicodedata

from rag.errors import InvalidQueryError

# General categories that show nothing: controls (Cc), format characters such as U+200B and
# the bidi overrides (Cf), surrogates (Cs), unassigned code points (Cn) and separators (Z*).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zs", "Zl", "Zp"})


def lone_surrogate(text: str) -> int | None:
    """Position of the first surrogate code point in ``text`` (not valid Unicode), else None."""
    for position, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            return position
    return None


def require_unicode(text: str, what: str) -> None:
    """Refuse ``text`` holding a lone surrogate, naming the field (``what``) and the position."""
    where = lone_surrogate(text)
    if where is not None:
        raise InvalidQueryError(
            f"{what} is not valid Unicode (a lone surrogate at position {where})"
        )


def is_format_char(char: str) -> bool:
    """True for a format character (Cf): zero-width spaces and joiners, bidi controls, BOM."""
    return unicodedata.category(char) == "Cf"


def is_control_char(char: str) -> bool:
    """True for a C0/C1 control character (Cc), line breaks and tabs included."""
    return unicodedata.category(char) == "Cc"


def has_visible_text(text: str) -> bool:
    """True when ``text`` holds at least one character that shows on screen."""
    return any(unicodedata.category(char) not in _INVISIBLE_CATEGORIES for char in text)
