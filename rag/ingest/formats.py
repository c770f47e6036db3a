"""Which loader reads a file: the format is detected from its bytes, the name only breaks ties.

Binary formats are recognised by their signatures (``%PDF-``, a zip holding
``word/document.xml``, PNG and JPEG headers), so a PDF saved as ``.txt`` is still read as a
PDF. A name that promises a binary format the bytes do not have (an HTML error page saved as
``report.pdf``) is refused rather than indexed as text. Text is told apart by its suffix
(Markdown, JSONL) or by its markup (HTML).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath
from typing import Literal

from rag.errors import UnsupportedDocumentError

DocFormat = Literal["pdf", "docx", "html", "markdown", "text", "jsonl", "image"]

# The suffixes a folder scan picks up; other files there are reported as skipped.
SUFFIXES: dict[str, DocFormat] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".jsonl": "jsonl",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
}
BINARY: frozenset[DocFormat] = frozenset({"pdf", "docx", "image"})
DESCRIPTION: dict[DocFormat, str] = {
    "pdf": "a PDF",
    "docx": "a Word (.docx) document",
    "html": "an HTML page",
    "markdown": "Markdown text",
    "text": "plain text",
    "jsonl": "JSON lines",
    "image": "an image",
}
# Formats people often have in the same folder, named so the skip line says what to do.
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "a legacy Office file (.doc/.xls/.ppt); save it as .docx",
    ),
    (b"GIF8", "a GIF image (OCR reads PNG and JPEG)"),
    (b"RIFF", "a RIFF media file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!", "a RAR archive"),
    (b"{\\rtf", "an RTF document; save it as .docx"),
)
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_SNIFF_BYTES = 4096


def detect_format(data: bytes, name: str) -> DocFormat:
    """The format of a file's ``data``; ``name`` (a file name) only decides among text formats.

    Raises :class:`UnsupportedDocumentError` with the reason when no loader reads the file.
    """
    suffix = PurePath(name).suffix.lower()
    claimed = SUFFIXES.get(suffix)
    if not data:
        raise UnsupportedDocumentError("empty file (0 bytes)")
    found = _binary_format(data)
    if found is not None:
        return found
    if claimed in BINARY:
        raise UnsupportedDocumentError(
            f"named {suffix} but the content is not {DESCRIPTION[claimed]} "
            f"(it looks like {looks_like(data)})"
        )
    if b"\x00" in data[:_SNIFF_BYTES]:
        if claimed is None and suffix:
            raise UnsupportedDocumentError(f"unsupported file type {suffix} ({looks_like(data)})")
        raise UnsupportedDocumentError(f"binary file, not text ({looks_like(data)})")
    if claimed in ("markdown", "jsonl"):
        return claimed
    if claimed == "html" or _HTML_START.match(data[:_SNIFF_BYTES]):
        return "html"
    if claimed == "text" or not suffix:
        return "text"
    raise UnsupportedDocumentError(f"unsupported file type {suffix}")


def _binary_format(data: bytes) -> DocFormat | None:
    head = data[:1024]
    if b"%PDF-" in head:  # the spec allows junk before the header
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff"):
        return "image"
    if head.startswith(b"PK\x03\x04"):
        if _is_docx(data):
            return "docx"
        raise UnsupportedDocumentError(
            "a zip archive that is not a Word document (.docx needs word/document.xml)"
        )
    return None


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnsupportedDocumentError("a corrupt zip archive (not a readable .docx)") from None


def looks_like(data: bytes) -> str:
    """What the bytes appear to be, for a message ("a legacy Office file …", "text")."""
    for magic, what in _KNOWN_OTHERS:
        if data.startswith(magic):
            return what
    found = None
    try:
        found = _binary_format(data)
    except UnsupportedDocumentError as exc:
        return str(exc)
    if found is not None:
        return DESCRIPTION[found]
    if b"\x00" in data[:_SNIFF_BYTES]:
        return "binary data"
    if _HTML_START.match(data[:_SNIFF_BYTES]):
        return "an HTML page"
    return "text"
