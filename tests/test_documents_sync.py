"""``rag index`` over a folder of PDF, Word and HTML files is a sync: a second run reads and
embeds only the files added or changed, drops the removed ones, and keeps the skip lines."""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder
from tests.docfiles import html_page, write_docx, write_pdf


def test_only_changed_files_are_read_again(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "a.pdf", [("概况", ["甲县今年新修水库两座。"])])
    write_docx(folder / "b.docx", "乙县简报", [("教育", ["乙县新建小学三所。"])])
    (folder / "c.html").write_text(
        html_page("丙县新闻", [("交通", ["丙县开通公交线路五条。"])]), encoding="utf-8"
    )
    (folder / "empty.txt").write_bytes(b"")
    settings = Settings(index_dir=tmp_path / "index", corpus=[folder], embedder="hash")
    first = RagEngine(settings, embedder=HashEmbedder()).build()
    assert (first.added, first.documents, len(first.skipped)) == (3, 3, 1)

    write_pdf(folder / "a.pdf", [("概况", ["甲县今年新修水库四座，总库容三百万立方米。"])])
    (folder / "b.docx").unlink()
    (folder / "d.html").write_text(
        html_page("丁县新闻", [("文化", ["丁县图书馆新增藏书一万册。"])]), encoding="utf-8"
    )
    engine = RagEngine(settings, embedder=HashEmbedder())
    second = engine.build()
    assert (second.added, second.updated, second.removed, second.unchanged) == (1, 1, 1, 1)
    assert second.documents == 3
    assert 0 < second.embedded <= 4  # the new PDF's and HTML's chunks only
    assert any("empty.txt: empty file" in line for line in second.skipped)
    answer = engine.ask("甲县今年新修了几座水库？")
    assert "四座" in answer.answer and answer.citations[0].page == 1


def test_a_file_that_turns_bad_keeps_its_indexed_version(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "a.pdf", [("概况", ["甲县今年新修水库两座。"])])
    (folder / "b.txt").write_text("乙县\n\n乙县新建小学三所。", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", corpus=[folder], embedder="hash")
    RagEngine(settings, embedder=HashEmbedder()).build()
    (folder / "a.pdf").write_bytes(b"%PDF-1.7\ntruncated by a failed copy")
    engine = RagEngine(settings, embedder=HashEmbedder())
    report = engine.build()
    assert report.documents == 2 and (report.updated, report.added) == (0, 0)
    [line] = report.skipped
    assert line.startswith(f"{folder / 'a.pdf'}: corrupt PDF")
    assert "两座" in engine.ask("甲县今年新修了几座水库？").answer
