"""Plain text and Markdown: the file is the extracted text, so offsets are file offsets.

A ``.txt`` file that reads like a newspaper page (bylines between articles) goes to the page
parser, which splits it into articles.
"""

from __future__ import annotations

import re

from rag.errors import DocumentLoadError
from rag.ingest.documents import Article, Paragraph, cjk_joiner, join_lines
from rag.ingest.layout import PAGE_BREAK, build_article, text_pages
from rag.ingest.markers import BYLINE_LINE, MAX_BYLINE
from rag.ingest.pages import looks_like_page, parse_page
from rag.text.chars import CLAUSE_END, COMMAS, ELLIPSIS, SENTENCE_END

_BLANK_LINE = re.compile(r"\n[ \t\u3000\r]*\n")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


class TextLoader:
    def load(self, data: bytes, doc_id: str, source: str) -> list[Article]:
        text = decode_text(data)
        if looks_like_page(text):
            return parse_page(text, doc_id, source)
        if PAGE_BREAK in text and text.strip():
            # Text saved page by page (pdftotext and most "save as text" of a PDF): running
            # headers, page numbers and hard line wraps are repaired as in a PDF.
            return [build_article(text_pages(text), doc_id, source)]
        return [parse_plain(text, doc_id, source)] if text.strip() else []


class MarkdownLoader:
    def load(self, data: bytes, doc_id: str, source: str) -> list[Article]:
        text = decode_text(data)
        return [parse_plain(text, doc_id, source, markdown=True)] if text.strip() else []


def decode_text(data: bytes) -> str:
    """UTF-8 text (a BOM is dropped); a clear error naming the first bad byte otherwise."""
    if b"\x00" in data[:8192]:
        raise DocumentLoadError("binary file, not UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentLoadError(
            f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc


def parse_plain(
    text: str, doc_id: str, source: str, *, title: str | None = None, markdown: bool = False
) -> Article:
    """A plain document: paragraphs split on blank lines (on line breaks if there are none).

    Offsets refer to ``text``. Without a ``title``, a first line that looks like a heading (a
    Markdown ``#`` heading, or a short line without final punctuation) becomes the title; a
    short line before the first paragraph that reads as a byline ("记者 某某") is the byline.
    """
    blocks = _plain_blocks(text)
    sections: list[str] = []
    section: str | None = None
    paragraphs: list[Paragraph] = []
    byline: str | None = None
    for k, lines in enumerate(blocks):
        first = lines[0][0]
        heading = _MD_HEADING.match(first) if markdown and len(lines) == 1 else None
        if heading:
            if title is None and k == 0 and heading.group(1) == "#":
                title = heading.group(2)
            else:
                section = heading.group(2)
                sections.append(section)
            continue
        if (
            title is None
            and k == 0
            and len(lines) == 1
            and _looks_like_title(first)
            and len(blocks) > 1
        ):
            title = first
            continue
        if _is_byline(lines) and not paragraphs and byline is None:
            byline = first
            continue
        body, pieces = join_lines(lines, cjk_joiner)
        paragraphs.append(Paragraph(doc_id, len(paragraphs) + 1, body, pieces, "body", section))
    return Article(
        doc_id=doc_id,
        title=title if title is not None else doc_id,
        paragraphs=tuple(paragraphs),
        source=source,
        byline=byline,
        sections=tuple(sections),
    )


def _is_byline(lines: list[tuple[str, int]]) -> bool:
    """One short line that opens as a byline does and is no sentence ("记者说…。" is one)."""
    line = lines[0][0]
    return (
        len(lines) == 1
        and len(line) <= MAX_BYLINE
        and bool(BYLINE_LINE.match(line))
        and not any(ch in SENTENCE_END + COMMAS for ch in line)
    )


def _looks_like_title(line: str) -> bool:
    return len(line) <= 60 and line[-1] not in SENTENCE_END + ELLIPSIS + CLAUSE_END


def _plain_blocks(text: str) -> list[list[tuple[str, int]]]:
    """Paragraphs as lists of ``(stripped line, offset)``."""
    split_on_blank = _BLANK_LINE.search(text) is not None
    blocks: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            current.append((stripped, pos + raw.index(stripped[0])))
        if (not stripped or not split_on_blank) and current:
            blocks.append(current)
            current = []
        pos += len(raw) + 1
    if current:
        blocks.append(current)
    return blocks
