"""One loader per file format, behind one small interface: bytes in, articles out.

Each loader returns articles whose paragraphs carry offsets into the text it extracted (for
plain text and Markdown that is the file itself), and pages and sections where the format has
them. A loader raises :class:`~rag.errors.DocumentLoadError` with one line when the bytes
cannot be read. Loaders are imported on first use, so importing :mod:`rag` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Protocol

from rag.ingest.documents import Article
from rag.ingest.formats import DocFormat


class Loader(Protocol):
    def load(self, data: bytes, doc_id: str, source: str) -> list[Article]:
        """The articles in ``data``; ``doc_id`` names the first (or only) one."""
        ...


_MODULES: dict[DocFormat, tuple[str, str]] = {
    "text": ("rag.ingest.loaders.text", "TextLoader"),
    "markdown": ("rag.ingest.loaders.text", "MarkdownLoader"),
    "jsonl": ("rag.ingest.loaders.jsonl", "JsonlLoader"),
    "pdf": ("rag.ingest.loaders.pdf", "PdfLoader"),
    "docx": ("rag.ingest.loaders.docx", "DocxLoader"),
    "html": ("rag.ingest.loaders.html", "HtmlLoader"),
    "image": ("rag.ingest.loaders.image", "ImageLoader"),
}


def loader_for(fmt: DocFormat) -> Loader:
    module, name = _MODULES[fmt]
    loader: Loader = getattr(import_module(module), name)()
    return loader
