"""Loader speed on generated files: pages/s for a text PDF, seconds per OCR image.

Run from the repository root: ``python scripts/loader_speed.py``. OCR needs the ``[ocr]`` extra
and a CJK font such as Debian's fonts-wqy-microhei, as the tests do.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.ingest.loaders import loader_for
from rag.ingest.loaders.image import ocr_available
from tests.docfiles import cjk_font, render_png, write_pdf

PARAGRAPH = (
    "县统计局指出，各项指标均按国家统计制度核算，数据来源于各乡镇的年度报表，" * 6
    + "全年粮食总产量达到十二万吨。"
)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chapters = [(f"第{i}章 概况", [PARAGRAPH] * 6) for i in range(1, 21)]
        pdf = write_pdf(Path(tmp) / "report.pdf", chapters, title="年报").read_bytes()
    started = time.perf_counter()
    [article] = loader_for("pdf").load(pdf, "report", "report.pdf")
    seconds = time.perf_counter() - started
    pages = max(p.page or 0 for p in article.paragraphs)
    chars = sum(len(p.text) for p in article.paragraphs)
    print(
        f"pdf: {pages} pages, {len(article.paragraphs)} paragraphs, {chars} characters "
        f"in {seconds:.2f} s = {pages / seconds:.1f} pages/s"
    )
    font = cjk_font()
    if not ocr_available() or font is None:
        print("ocr: skipped (needs the [ocr] extra and a CJK font)")
        return
    png = render_png(
        ["停水通知", "因管道检修，西街片区将于6月8日全天停水，", "请居民提前储水。"], font
    )
    loader_for("image").load(png, "notice", "notice.png")  # loads the OCR models
    started = time.perf_counter()
    loader_for("image").load(png, "notice", "notice.png")
    print(f"ocr: {time.perf_counter() - started:.2f} s for a three-line image (models loaded)")


if __name__ == "__main__":
    main()
