"""What a corpus is made of: articles and their numbered paragraphs, with source offsets."""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

ParagraphKind = Literal["body", "note", "caption"]


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of paragraph text copied verbatim from ``source[start:end]``.

    A paragraph that layout broke over several lines is made of several pieces; ``offset`` is
    where the piece begins in the paragraph text.
    """

    offset: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph of an article; ``index`` is 1-based (body first, then note, then captions).

    ``page`` is the 1-based page the paragraph starts on, for formats that have pages (PDF).
    """

    doc_id: str
    index: int
    text: str
    pieces: tuple[Piece, ...]
    kind: ParagraphKind = "body"
    section: str | None = None
    page: int | None = None  # 1-based page of a paginated source (PDF), where known

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.index}"

    @property
    def start(self) -> int:
        return self.pieces[0].start

    @property
    def end(self) -> int:
        return self.pieces[-1].end

    def source_offset(self, pos: int) -> int:
        """Map an offset in ``text`` to an offset in the source document."""
        offsets = [p.offset for p in self.pieces]
        i = max(bisect.bisect_right(offsets, pos) - 1, 0)
        piece = self.pieces[i]
        length = piece.end - piece.start
        if pos - piece.offset <= length:
            return piece.start + (pos - piece.offset)
        # ``pos`` falls in a separator inserted between pieces: snap to the next piece.
        return self.pieces[i + 1].start if i + 1 < len(self.pieces) else piece.end

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Source offsets of ``text[start:end]`` (the end snaps back across a separator)."""
        if end <= start:
            s = self.source_offset(start)
            return s, s
        return self.source_offset(start), self.source_offset(end - 1) + 1


@dataclass(frozen=True, slots=True)
class Article:
    """A document: one newspaper article, one plain file or one JSONL record."""

    doc_id: str
    title: str
    paragraphs: tuple[Paragraph, ...]
    source: str
    byline: str | None = None
    kicker: str | None = None
    column: str | None = None
    sections: tuple[str, ...] = field(default_factory=tuple)

    @property
    def body(self) -> tuple[Paragraph, ...]:
        return tuple(p for p in self.paragraphs if p.kind == "body")

    def paragraph(self, index: int) -> Paragraph:
        return self.paragraphs[index - 1]


def join_lines(
    lines: list[tuple[str, int]], joiner: Callable[[str, str], str] | None = None
) -> tuple[str, tuple[Piece, ...]]:
    """Join ``(text, source_start)`` lines into paragraph text and its pieces.

    ``joiner(left, right)`` gives the separator inserted between two lines (none by default:
    a Chinese sentence broken by layout is rejoined without a space).
    """
    parts: list[str] = []
    pieces: list[Piece] = []
    offset = 0
    for text, start in lines:
        if parts and joiner is not None:
            sep = joiner(parts[-1], text)
            parts.append(sep)
            offset += len(sep)
        pieces.append(Piece(offset, start, start + len(text)))
        parts.append(text)
        offset += len(text)
    return "".join(parts), tuple(pieces)


def cjk_joiner(left: str, right: str) -> str:
    """Separator for rejoining a wrapped line: none between CJK text, a space between words."""
    if not left or not right:
        return ""
    a, b = left[-1], right[0]
    if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
        return " "
    return ""


def content_id(title: str, text: str) -> str:
    """Id for a document given without one: stable for the same title and text."""
    return "doc-" + hashlib.sha1(f"{title}\x1f{text}".encode()).hexdigest()[:12]
