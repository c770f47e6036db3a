"""PDF: the text layer's positioned lines (pdfminer.six, MIT) through the layout repair.

Pages without a text layer (scans) are read by OCR when the ``[ocr]`` extra is installed; a
PDF with no text at all and no OCR is refused with a message naming the extra. Encrypted and
corrupt files are refused with one line each; pdfminer is pure Python, so a malformed file
fails with an exception, never a crash of the process.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

from rag.errors import DocumentLoadError, UnsupportedDocumentError
from rag.ingest.documents import Article
from rag.ingest.layout import build_article
from rag.ingest.loaders.image import OCR_MISSING, ocr_available, ocr_page
from rag.ingest.printed import Line, Page

CHAR_MARGIN = 1.0
# Metadata titles that writing tools fill in by themselves.
_PLACEHOLDER_TITLES = frozenset({"untitled", "anonymous", "unknown", "无标题", "未命名"})


class PdfLoader:
    def load(self, data: bytes, doc_id: str, source: str) -> list[Article]:
        pages, image_pages, title = _read(data)
        if image_pages and ocr_available():
            pages = _with_ocr(data, pages, image_pages)
        if not any(page.lines for page in pages):
            if image_pages:
                raise UnsupportedDocumentError(f"a scanned PDF without a text layer; {OCR_MISSING}")
            raise DocumentLoadError("PDF has no text")
        return [build_article(pages, doc_id, source, title=title)]


def _read(data: bytes) -> tuple[list[Page], set[int], str | None]:
    """Pages with their lines, the numbers of pages that are images only, the metadata title."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTImage, LTTextLineHorizontal
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # it warns on every odd font
    pages: list[Page] = []
    image_pages: set[int] = set()
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
        title = _title(document)
        manager = PDFResourceManager(caching=True)
        # Chinese text has no spaces between characters: a gap of one character is already a
        # column gutter, not a space (pdfminer's default joins across two).
        device = PDFPageAggregator(manager, laparams=LAParams(char_margin=CHAR_MARGIN))
        interpreter = PDFPageInterpreter(manager, device)
        for number, pdf_page in enumerate(PDFPage.create_pages(document), start=1):
            interpreter.process_page(pdf_page)
            layout = device.get_result()
            height = layout.height
            lines: list[Line] = []
            has_image = False
            for element in _walk(layout):
                if isinstance(element, LTImage):
                    has_image = True
                elif isinstance(element, LTTextLineHorizontal):
                    line = _line(element, height)
                    if line is not None:
                        lines.append(line)
            if not lines and has_image:
                image_pages.add(number)
            pages.append(Page(number, layout.width, height, tuple(lines)))
    except PDFPasswordIncorrect:
        raise DocumentLoadError("encrypted PDF (it needs a password to open)") from None
    except PDFEncryptionError as exc:
        raise DocumentLoadError(f"encrypted PDF that cannot be opened ({exc})") from None
    except DocumentLoadError:
        raise
    except Exception as exc:  # a malformed file fails anywhere inside the parser
        detail = " ".join(str(exc).split())[:120]
        raise DocumentLoadError(f"corrupt PDF ({type(exc).__name__}: {detail})") from None
    if not pages:
        raise DocumentLoadError("PDF has no pages")
    return pages, image_pages, title


def _walk(element: Any) -> Iterator[Any]:
    """Text lines and images in pdfminer's reading order (boxes, then the lines inside)."""
    from pdfminer.layout import LTImage, LTTextLineHorizontal

    for child in element:
        if isinstance(child, LTTextLineHorizontal | LTImage):
            yield child
        elif hasattr(child, "__iter__"):
            yield from _walk(child)


def _line(element: Any, height: float) -> Line | None:
    from pdfminer.layout import LTChar

    text = element.get_text().rstrip("\n")
    if not text.strip():
        return None
    sizes = sorted(c.size for c in element if isinstance(c, LTChar))
    size = sizes[len(sizes) // 2] if sizes else element.height
    return Line(
        text=text,
        x0=element.x0,
        x1=element.x1,
        top=height - element.y1,
        bottom=height - element.y0,
        size=size,
    )


def _title(document: Any) -> str | None:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    for info in document.info:
        value = resolve1(info.get("Title"))
        if isinstance(value, bytes):
            value = decode_text(value)
        if isinstance(value, str) and value.strip("() ").lower() not in _PLACEHOLDER_TITLES:
            return value.strip() or None
    return None


def _with_ocr(data: bytes, pages: list[Page], image_pages: set[int]) -> list[Page]:
    """Pages without a text layer replaced by the OCR of their images."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        out = list(pages)
        for number in sorted(image_pages):
            # A scanned page is one image; OCR the largest if there are several.
            images = sorted(reader.pages[number - 1].images, key=lambda im: len(im.data))
            if images:
                out[number - 1] = ocr_page(images[-1].data, number)
        return out
    except DocumentLoadError:
        raise
    except Exception as exc:
        raise DocumentLoadError(
            f"cannot read the PDF's page images ({type(exc).__name__})"
        ) from None
