"""Layout repair: positioned lines of pages (a PDF's text layer, OCR boxes) become an article.

Print breaks a paragraph into lines and pages and adds page furniture. This module undoes
that with what Chinese layout has in general: running headers and footers repeat on most
pages at the page edge, page numbers stand alone there, a new paragraph starts indented or
after a short line that ends a sentence, headings are set larger or numbered ("第一章",
"一、"), captions and bylines have their usual wording (:mod:`rag.ingest.markers`). Lines
are rejoined without changing a character, so full- and half-width forms stay as printed.

Offsets point into the *extracted text*: the lines of each page joined by newlines, pages
joined by a form feed (the convention of ``pdftotext``); :func:`extracted_text` returns it.
"""

from __future__ import annotations

__all__ = ["PAGE_BREAK", "Line", "Page", "build_article", "extracted_text", "text_pages"]

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.ingest.documents import Article, Paragraph, ParagraphKind, cjk_joiner, join_lines
from rag.ingest.markers import (
    BYLINE_LINE,
    HEADING_NUMBER,
    MAX_BYLINE,
    ends_sentence,
    is_caption,
    is_page_number,
)
from rag.ingest.printed import (
    PAGE_BREAK,
    Geometry,
    Line,
    Page,
    extracted_text,
    page_geometry,
    reading_order,
    same_size,
    text_pages,
)

# Page furniture lives in the outer tenth of the page, at most this many lines per edge.
EDGE_SHARE = 0.1
EDGE_LINES = 2
# A header/footer repeats (digits aside) at the edge of at least this share of the pages.
REPEAT_SHARE = 0.5
# A heading is set at least this much larger than the body text.
HEADING_SCALE = 1.15
MAX_HEADING_CHARS = 40
# A line indented by more than this many characters starts a paragraph (Chinese indents 2).
INDENT_CHARS = 0.8
# A line that stops this many characters short of the right edge does not fill the line.
SHORT_LINE_CHARS = 1.5
# A vertical gap this many times the usual line pitch separates paragraphs.
GAP_PITCHES = 1.5


@dataclass(frozen=True, slots=True)
class _Placed:
    line: Line
    page: Page
    start: int  # offset of the stripped text in the extracted text
    text: str


def build_article(
    pages: Sequence[Page], doc_id: str, source: str, title: str | None = None
) -> Article:
    """One article from the pages' lines: furniture dropped, paragraphs and headings rebuilt.

    Without a ``title``, a larger-set first line of the first page is the title (else the id).
    """
    placed = _place(pages)
    furniture = _furniture(placed, len(pages))
    lines = [p for k, p in enumerate(placed) if k not in furniture and p.text]
    body_size = _body_size(lines)
    geometry = {
        page.number: page_geometry(page, [p.line for p in lines if p.page is page], body_size)
        for page in pages
    }
    lines = [
        p
        for page in pages
        for p in reading_order(
            [q for q in lines if q.page is page], lambda q: q.line, geometry[page.number]
        )
    ]
    paragraphs: list[Paragraph] = []
    sections: list[str] = []
    section: str | None = None
    byline: str | None = None
    current: list[_Placed] = []
    current_kind: ParagraphKind = "body"

    def flush() -> None:
        nonlocal current
        if current:
            text, pieces = join_lines([(p.text, p.start) for p in current], cjk_joiner)
            paragraphs.append(
                Paragraph(
                    doc_id,
                    len(paragraphs) + 1,
                    text,
                    pieces,
                    current_kind,
                    section if current_kind == "body" else None,
                    current[0].page.number,
                )
            )
        current = []

    heading: list[_Placed] = []

    def commit_heading() -> None:
        nonlocal heading, title, section
        if heading:
            name = "".join(h.text for h in heading)
            if title is None and not paragraphs and not sections and _is_title(heading, lines):
                title = name
            else:
                section = name
                sections.append(name)
        heading = []

    for p in lines:
        kind = _kind(p, body_size, geometry[p.page.number])
        if kind == "heading":
            flush()
            if not (heading and _same_heading(heading[-1], p)):
                commit_heading()
            heading.append(p)
            continue
        commit_heading()
        if kind == "byline" and not paragraphs and byline is None:
            byline = p.text
            continue
        if kind == "caption":
            flush()
            current_kind = "caption"
            current = [p]
            flush()
            current_kind = "body"
            continue
        if current and _starts_paragraph(current[-1], p, geometry):
            flush()
        current.append(p)
    flush()
    commit_heading()
    if title is None and _title_line(paragraphs):
        title = paragraphs.pop(0).text
    return Article(
        doc_id=doc_id,
        title=title or doc_id,
        paragraphs=tuple(_renumber(paragraphs)),
        source=source,
        byline=byline,
        sections=tuple(sections),
    )


def _place(pages: Sequence[Page]) -> list[_Placed]:
    placed: list[_Placed] = []
    pos = 0
    for n, page in enumerate(pages):
        if n:
            pos += len(PAGE_BREAK)
        for k, line in enumerate(page.lines):
            if k:
                pos += 1
            stripped = line.text.strip()
            lead = line.text.index(stripped[0]) if stripped else 0
            placed.append(_Placed(line, page, pos + lead, stripped))
            pos += len(line.text)
    return placed


def _furniture(placed: list[_Placed], n_pages: int) -> set[int]:
    """Indices of running headers, footers and page numbers."""
    edge: list[int] = []
    by_page: dict[int, list[int]] = {}
    for k, p in enumerate(placed):
        by_page.setdefault(p.page.number, []).append(k)
    for ks in by_page.values():
        page = placed[ks[0]].page
        first, last = ks[:EDGE_LINES], ks[-EDGE_LINES:]
        for k in {*first, *last}:
            line = placed[k].line
            # A short page (a text file's) has a thin margin: allow three lines' height.
            limit = max(page.height * EDGE_SHARE, 3 * line.size)
            if line.bottom < limit or line.top > page.height - limit:
                edge.append(k)
    keys = {k: re.sub(r"\d+", "#", placed[k].text) for k in edge}
    pages_with = Counter({(key, placed[k].page.number) for k, key in keys.items()})
    spread = Counter(key for key, _ in pages_with)
    needed = max(2, REPEAT_SHARE * n_pages)
    return {
        k
        for k, key in keys.items()
        if is_page_number(placed[k].text) or (n_pages > 1 and spread[key] >= needed)
    }


def _body_size(lines: list[_Placed]) -> float:
    """The size most of the text is set in (weighted by characters)."""
    sizes: Counter[float] = Counter()
    for p in lines:
        sizes[round(p.line.size * 2) / 2] += len(p.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _kind(p: _Placed, body_size: float, geo: Geometry) -> str:
    text, line = p.text, p.line
    short = len(text) <= MAX_HEADING_CHARS and not ends_sentence(text)
    if short and body_size and line.size >= body_size * HEADING_SCALE:
        return "heading"
    not_full = line.x1 < geo.column(line).right - SHORT_LINE_CHARS * max(line.size, 1.0)
    if short and not_full and HEADING_NUMBER.match(text) and len(text) <= 30:
        return "heading"
    if len(text) <= 80 and is_caption(text):
        return "caption"
    if len(text) <= MAX_BYLINE and BYLINE_LINE.match(text):
        return "byline"
    return "body"


def _title_line(paragraphs: list[Paragraph]) -> bool:
    """A first paragraph that is one short line without final punctuation (what a title looks
    like when sizes are unknown, as in OCR) titles the document."""
    if len(paragraphs) < 2:
        return False
    first = paragraphs[0]
    return (
        first.kind == "body"
        and first.page == 1
        and first.section is None
        and len(first.pieces) == 1
        and len(first.text) <= MAX_HEADING_CHARS
        and not ends_sentence(first.text)
    )


def _is_title(heading: list[_Placed], lines: list[_Placed]) -> bool:
    """The first heading of page 1 is the title when nothing else is set as large."""
    size = heading[0].line.size
    return heading[0].page.number == 1 and all(p.line.size < size or p in heading for p in lines)


def _same_heading(prev: _Placed, p: _Placed) -> bool:
    """A heading printed over two lines: same size, the next line right below."""
    return (
        prev.page is p.page
        and same_size(prev.line.size, p.line.size)
        and 0 < p.line.top - prev.line.top <= prev.line.size * 2
        and not HEADING_NUMBER.match(p.text)
    )


def _starts_paragraph(prev: _Placed, p: _Placed, geometry: dict[int, Geometry]) -> bool:
    geo = geometry[p.page.number]
    size = max(p.line.size, 1.0)
    if p.line.x0 >= geo.column(p.line).left + INDENT_CHARS * size:
        return True  # indented
    prev_column = geometry[prev.page.number].column(prev.line)
    if prev.line.x1 < prev_column.right - SHORT_LINE_CHARS * max(prev.line.size, 1.0):
        return True  # justified Chinese text fills every line but a paragraph's last
    if prev.page is not p.page or geo.column(prev.line) != geo.column(p.line):
        return False  # the same paragraph, carried over to the next page or column
    if not same_size(prev.line.size, p.line.size):
        return True
    return p.line.top - prev.line.top > GAP_PITCHES * geo.pitch


def _renumber(paragraphs: list[Paragraph]) -> list[Paragraph]:
    """Body paragraphs first, then captions (the order citations number them in)."""
    ordered = [p for p in paragraphs if p.kind == "body"] + [
        p for p in paragraphs if p.kind != "body"
    ]
    return [
        Paragraph(p.doc_id, n, p.text, p.pieces, p.kind, p.section, p.page)
        for n, p in enumerate(ordered, start=1)
    ]
