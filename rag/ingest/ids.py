"""Document ids: one normal form for every id the engine receives, from the CLI or over HTTP.

An id is what a person types to open or delete a document, so two ids that look the same
must be the same id: "café" written with a combining accent (NFD) is the NFC "café", and an
invisible character (zero-width space, bidi override, BOM) or surrounding white space is not
part of it. An id left empty by that, or holding a control character or a lone surrogate, is
refused rather than stored.
"""

from __future__ import annotations

import unicodedata

from rag.errors import InvalidQueryError
from rag.text.unicode import is_control_char, is_format_char, require_unicode

MAX_ID_CHARS = 256


def normalize_doc_id(raw: str) -> str:
    """The id ``raw`` stands for: NFC, without format characters or surrounding white space.

    Raises :class:`InvalidQueryError` when nothing is left, or when ``raw`` holds a lone
    surrogate, a control character or more than :data:`MAX_ID_CHARS` characters.
    """
    require_unicode(raw, "document id")
    if any(is_control_char(c) for c in raw):
        raise InvalidQueryError("document id must not contain control characters")
    visible = "".join(c for c in raw if not is_format_char(c))
    doc_id = unicodedata.normalize("NFC", visible).strip()
    if not doc_id:
        raise InvalidQueryError("document id is blank (or made only of invisible characters)")
    if len(doc_id) > MAX_ID_CHARS:
        raise InvalidQueryError(
            f"document id is too long ({len(doc_id)} characters; the limit is {MAX_ID_CHARS})"
        )
    return doc_id
