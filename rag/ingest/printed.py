"""Printed pages as positioned lines, and the columns and reading order of a page.

The layout repair (:mod:`rag.ingest.layout`) reads pages of :class:`Line`s whatever made
them: a PDF's text layer (points), OCR boxes (pixels) or text saved page by page (character
cells, :func:`text_pages`).
"""

from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

PAGE_BREAK = "\f"
# Sizes within this share of each other are the same type size.
SIZE_TOLERANCE = 0.12

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Line:
    """One printed line: ``top``/``bottom`` grow downwards from the page top, in points
    (or pixels for scans); ``size`` is the glyph height."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # 1-based
    width: float
    height: float
    lines: tuple[Line, ...]


def text_pages(text: str) -> list[Page]:
    """Paged plain text (``pdftotext`` output: pages split by form feeds) as positioned lines.

    Positions are in half-width character cells (a Chinese character or a full-width space
    is two), one line per row, so indents, short lines and blank rows read as in print;
    :func:`extracted_text` of the result is ``text`` itself.
    """
    pages = []
    for number, page in enumerate(text.split(PAGE_BREAK), start=1):
        rows = page.split("\n")
        lines = []
        for row, raw in enumerate(rows):
            lead = _cells(raw[: len(raw) - len(raw.lstrip())])
            lines.append(Line(raw, lead, lead + _cells(raw.strip()), 2.0 * row, 2.0 * row + 2, 2.0))
        width = max((line.x1 for line in lines), default=0.0)
        pages.append(Page(number, width, 2.0 * len(rows), tuple(lines)))
    return pages


def _cells(text: str) -> float:
    return float(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text))


def extracted_text(pages: Sequence[Page]) -> str:
    """The text the offsets of :func:`build_article` refer to."""
    return PAGE_BREAK.join("\n".join(line.text for line in page.lines) for page in pages)


@dataclass(frozen=True, slots=True)
class Column:
    left: float  # where the column's lines start (an indented line starts further right)
    right: float  # where a full line ends


@dataclass(frozen=True, slots=True)
class Geometry:
    columns: tuple[Column, ...]
    pitch: float

    def column(self, line: Line) -> Column:
        """The column a line is set in: the one its extent overlaps most."""
        return max(self.columns, key=lambda c: min(line.x1, c.right) - max(line.x0, c.left))


def page_geometry(page: Page, lines: Sequence[Line], body_size: float) -> Geometry:
    """The columns and line pitch of a page, from its lines set in the body size."""
    body = [line for line in lines if same_size(line.size, body_size)]
    if not body:
        return Geometry((Column(0.0, page.width),), body_size * 1.5 or 1.0)
    pitches = [b.top - a.top for a, b in pairwise(body) if b.top > a.top]
    return Geometry(
        columns=tuple(_columns(body)),
        pitch=statistics.median(pitches) if pitches else body_size * 1.5,
    )


def _columns(body: list[Line]) -> list[Column]:
    """Columns of a page: runs of body lines whose horizontal extents overlap (a gutter
    separates two columns; a line across the page makes one column of it)."""
    groups: list[list[Line]] = []
    for line in sorted(body, key=lambda b: b.x0):
        if groups and line.x0 < max(b.x1 for b in groups[-1]):
            groups[-1].append(line)
        else:
            groups.append([line])
    columns = []
    for group in groups:
        lefts = sorted(b.x0 for b in group)
        # The lower fifth: robust to indented first lines and a few lines set further left.
        columns.append(Column(lefts[len(lefts) // 5], max(b.x1 for b in group)))
    return columns


def reading_order(items: list[T], line_of: Callable[[T], Line], geo: Geometry) -> list[T]:
    """A page set in columns is read down each column in turn; a line across the columns (a
    headline, a figure caption) ends one band of columns and starts the next."""
    if len(geo.columns) < 2:
        return items
    keyed: list[tuple[tuple[int, int, float], T]] = []
    band = 0
    for item in sorted(items, key=lambda i: line_of(i).top):
        line = line_of(item)
        across = [k for k, c in enumerate(geo.columns) if _overlap(line, c) > 0]
        if len(across) > 1:
            band += 1
            keyed.append(((band, -1, line.top), item))
            band += 1
        else:
            keyed.append(((band, geo.columns.index(geo.column(line)), line.top), item))
    return [item for _, item in sorted(keyed, key=lambda ki: ki[0])]


def _overlap(line: Line, column: Column) -> float:
    return min(line.x1, column.right) - max(line.x0, column.left)


def same_size(size: float, body_size: float) -> bool:
    # OCR boxes vary by a tenth with the glyphs in them (digits, punctuation)
    return abs(size - body_size) <= max(0.5, body_size * SIZE_TOLERANCE)
