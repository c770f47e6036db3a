"""Word (.docx): paragraphs in document order, headings as sections, tables as text rows.

The extracted text is one line per Word paragraph or table row; offsets point into it. The
archive is checked before it is opened: a file whose parts unpack to more than
``MAX_UNPACKED_BYTES`` (a zip bomb) is refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from rag.errors import DocumentLoadError
from rag.ingest.documents import Article, Paragraph, join_lines
from rag.ingest.tables import table_lines

MAX_UNPACKED_BYTES = 200_000_000
MAX_RATIO = 200  # text XML compresses ~10x; far beyond that is a bomb, not a document
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)", re.I)
_TITLE_STYLES = frozenset({"title", "标题"})


class DocxLoader:
    def load(self, data: bytes, doc_id: str, source: str) -> list[Article]:
        _check_archive(data)
        import docx

        try:
            document = docx.Document(io.BytesIO(data))
            blocks = list(_blocks(document))
            core_title = (document.core_properties.title or "").strip() or None
        except DocumentLoadError:
            raise
        except Exception as exc:  # python-docx and lxml raise many types on broken parts
            raise DocumentLoadError(f"corrupt Word document ({type(exc).__name__})") from None
        return [_article(blocks, doc_id, source, core_title)]


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DocumentLoadError("corrupt Word document (not a readable zip archive)") from None
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_RATIO:
        raise DocumentLoadError(
            f"refused: the .docx unpacks to {unpacked:,} bytes from {packed:,} (a zip bomb?)"
        )


def _blocks(document: Any) -> list[tuple[str, str]]:
    """``(role, text)`` in order; role is "title", "heading" or "text"."""
    from docx.table import Table

    out: list[tuple[str, str]] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [[cell.text for cell in row.cells] for row in item.rows]
            out.extend(("text", line) for line in table_lines(rows))
            continue
        text = item.text.strip()
        if not text:
            continue
        style = (item.style.name if item.style is not None else "").strip().lower()
        if style in _TITLE_STYLES:
            out.append(("title", text))
        elif _HEADING_STYLE.match(style):
            out.append(("heading", text))
        else:
            out.append(("text", text))
    return out


def _article(blocks: list[tuple[str, str]], doc_id: str, source: str, title: str | None) -> Article:
    paragraphs: list[Paragraph] = []
    sections: list[str] = []
    section: str | None = None
    pos = 0
    for role, text in blocks:
        start, pos = pos, pos + len(text) + 1  # one line each in the extracted text
        if role == "title":
            title = title or text
        elif role == "heading":
            section = text
            sections.append(text)
        else:
            _, pieces = join_lines([(text, start)])
            paragraphs.append(Paragraph(doc_id, len(paragraphs) + 1, text, pieces, "body", section))
    return Article(
        doc_id=doc_id,
        title=title or doc_id,
        paragraphs=tuple(paragraphs),
        source=source,
        sections=tuple(sections),
    )
