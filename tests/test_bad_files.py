"""Bad files in a folder of real documents: each is skipped with one clear line, the rest is
indexed, and an index built before is never damaged."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import RagEngine
from rag.errors import DocumentLoadError, UnsupportedDocumentError
from rag.index.embeddings import HashEmbedder
from rag.ingest import sources
from rag.ingest.corpus import read_corpus, scan
from rag.ingest.formats import detect_format
from rag.ingest.loaders import image
from tests.docfiles import write_docx, write_pdf


def encrypted_pdf(path: Path) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    canvas = Canvas(str(path), encrypt="secret")
    canvas.setFont("STSong-Light", 12)
    canvas.drawString(72, 720, "机密文件内容。")
    canvas.showPage()
    canvas.save()
    return path


def blank_pdf(path: Path) -> Path:
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path))
    canvas.showPage()
    canvas.save()
    return path


def image_only_pdf(path: Path) -> Path:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    png = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(png, format="PNG")
    canvas = Canvas(str(path))
    canvas.drawImage(ImageReader(io.BytesIO(png.getvalue())), 72, 600, 200, 100)
    canvas.showPage()
    canvas.save()
    return path


def zip_bomb(path: Path) -> Path:
    """A .docx-shaped zip whose document.xml unpacks to 20 MB of nothing."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:document>" + b" " * 20_000_000)
    return path


@pytest.fixture
def messy_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "good.pdf", [("概况", ["白河镇今年新建文化广场一座，占地五千平方米。"])])
    write_docx(folder / "good.docx", "白河镇简报", [("一、教育", ["白河镇中学新建了图书馆。"])])
    (folder / "notes.txt").write_text("白河镇笔记\n\n镇上的集市每逢三六九开放。", encoding="utf-8")
    encrypted_pdf(folder / "locked.pdf")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 2 0 R\ngarbage")
    blank_pdf(folder / "blank.pdf")
    image_only_pdf(folder / "scanned.pdf")
    zip_bomb(folder / "bomb.docx")
    (folder / "error-page.pdf").write_text("<!DOCTYPE html><html>404 Not Found</html>")
    (folder / "zero.txt").write_bytes(b"")
    (folder / "movie.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return folder


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image, "ocr_available", lambda: False)
    monkeypatch.setattr("rag.ingest.loaders.pdf.ocr_available", lambda: False)


EXPECTED_SKIPS = {
    "locked.pdf": "encrypted PDF",
    "broken.pdf": "corrupt PDF",
    "blank.pdf": "PDF has no text",
    "scanned.pdf": "rag-zh[ocr]",
    "bomb.docx": "zip bomb",
    "error-page.pdf": "named .pdf but the content is not a PDF (it looks like an HTML page)",
    "zero.txt": "empty file (0 bytes)",
    "movie.mp4": "unsupported file type .mp4",
    "old.doc": "legacy Office file",
}


@pytest.mark.usefixtures("no_ocr")
def test_each_bad_file_is_skipped_with_one_line(messy_folder: Path) -> None:
    corpus = read_corpus([messy_folder])
    assert sorted(a.doc_id for a in corpus.articles) == ["good.docx", "good.pdf", "notes"]
    reasons = {s.path.name: s.message for s in corpus.skipped}
    assert set(reasons) == set(EXPECTED_SKIPS)  # .DS_Store is hidden, not a document
    for name, expected in EXPECTED_SKIPS.items():
        assert expected in reasons[name], (name, reasons[name])
        assert reasons[name].startswith(f"{messy_folder / name}: ")
        assert "\n" not in reasons[name] and len(reasons[name]) < 300


def test_scan_hashes_and_formats_from_content(messy_folder: Path, tmp_path: Path) -> None:
    pdf_named_txt = messy_folder / "really-a-pdf.txt"
    pdf_named_txt.write_bytes((messy_folder / "good.pdf").read_bytes())
    found = {f.path.name: f for f in scan([messy_folder])}
    assert found["really-a-pdf.txt"].format == "pdf"
    assert found["good.docx"].format == "docx" and found["notes.txt"].format == "text"
    assert found["good.pdf"].digest == found["really-a-pdf.txt"].digest
    assert "zero.txt" not in found and "movie.mp4" not in found
    assert found["notes.txt"].doc_id == "notes"


def test_detect_format_errors_are_unsupported_documents() -> None:
    with pytest.raises(UnsupportedDocumentError, match="not a Word document"):
        detect_format(_zip({"xl/workbook.xml": "<x/>"}), "sheet.docx")
    with pytest.raises(UnsupportedDocumentError, match="corrupt zip"):
        detect_format(b"PK\x03\x04 truncated", "a.docx")
    assert detect_format(b"<!doctype html><p>hi</p>", "page") == "html"
    assert detect_format("# 标题".encode(), "a.md") == "markdown"


def _zip(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_load_file_errors_are_one_line_naming_the_file(messy_folder: Path) -> None:
    [locked] = [f for f in scan([messy_folder]) if f.path.name == "locked.pdf"]
    with pytest.raises(DocumentLoadError) as err:
        sources.load_file(locked)
    assert str(err.value) == f"{locked.path}: encrypted PDF (it needs a password to open)"


@pytest.mark.usefixtures("no_ocr")
def test_rag_index_skips_bad_files_and_keeps_the_rest(messy_folder: Path, tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", corpus=[messy_folder], embedder="hash")
    engine = RagEngine(settings, embedder=HashEmbedder())
    report = engine.build()
    assert report.documents == 3
    assert len(report.skipped) == len(EXPECTED_SKIPS)
    assert any(line.startswith(str(messy_folder / "locked.pdf")) for line in report.skipped)
    answer = engine.ask("白河镇的文化广场占地多少？")
    assert answer.citations[0].doc_id == "good.pdf"
    assert answer.citations[0].page == 1 and answer.citations[0].section == "概况"
