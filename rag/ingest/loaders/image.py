"""Images (PNG, JPEG) and scanned PDF pages, read by OCR through the layout repair.

OCR is ``rapidocr-onnxruntime`` (it ships the Chinese PP-OCR models, nothing is downloaded),
installed by the ``[ocr]`` extra. Without it such a file is refused with a message naming the
extra, so a folder of scans is not silently indexed as empty.
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib.util import find_spec
from typing import Any

from rag.errors import DocumentLoadError, UnsupportedDocumentError
from rag.ingest.documents import Article, cjk_joiner
from rag.ingest.layout import build_article
from rag.ingest.printed import Line, Page

OCR_MISSING = "OCR needs the [ocr] extra: pip install 'rag-zh[ocr]'"
# OCR boxes whose vertical centres are this close (in box heights) are one printed line.
SAME_ROW = 0.5
MAX_PIXELS = 60_000_000  # a 300-dpi A0 scan; larger is a decompression bomb, not a page


def ocr_available() -> bool:
    return find_spec("rapidocr_onnxruntime") is not None


class ImageLoader:
    def load(self, data: bytes, doc_id: str, source: str) -> list[Article]:
        if not ocr_available():
            raise UnsupportedDocumentError(f"an image; {OCR_MISSING}")
        page = ocr_page(data, 1)
        if not page.lines:
            raise DocumentLoadError("no text found in the image")
        return [build_article([page], doc_id, source)]


def ocr_page(data: bytes, number: int) -> Page:
    """One image as a page of lines (pixel coordinates)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise DocumentLoadError(f"image too large to read ({width}x{height} pixels)")
            image = probe.convert("RGB")
    except DocumentLoadError:
        raise
    except Exception as exc:  # Pillow raises many types on a truncated or corrupt file
        raise DocumentLoadError(f"corrupt image ({type(exc).__name__})") from None
    import numpy as np

    result, _ = _engine()(np.asarray(image))
    return Page(number, float(width), float(height), tuple(_rows(result or [])))


@lru_cache(maxsize=1)
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def _rows(result: list[Any]) -> list[Line]:
    """OCR boxes (``[corners, text, score]``) merged into lines, top to bottom."""
    boxes = []
    for corners, text, _score in result:
        xs = [float(x) for x, _ in corners]
        ys = [float(y) for _, y in corners]
        if text.strip():
            boxes.append(Line(text.strip(), min(xs), max(xs), min(ys), max(ys), max(ys) - min(ys)))
    boxes.sort(key=lambda b: (b.top + b.bottom) / 2)
    rows: list[list[Line]] = []
    for box in boxes:
        centre = (box.top + box.bottom) / 2
        if rows:
            last = rows[-1][-1]
            if abs(centre - (last.top + last.bottom) / 2) <= SAME_ROW * max(box.size, last.size):
                rows[-1].append(box)
                continue
        rows.append([box])
    lines = []
    for row in rows:
        row.sort(key=lambda b: b.x0)
        text = row[0].text
        for box in row[1:]:
            text += cjk_joiner(text, box.text) + box.text
        lines.append(
            Line(
                text,
                row[0].x0,
                row[-1].x1,
                min(b.top for b in row),
                max(b.bottom for b in row),
                max(b.size for b in row),
            )
        )
    return lines
