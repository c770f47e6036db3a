"""``rag index --corpus DIR`` is a sync: only files added, changed or removed are read and
embedded; unreadable files are skipped with their reason; other documents stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import RagEngine
from rag.errors import CorpusError
from rag.index.embeddings import HashEmbedder


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        self.texts += texts
        return super().embed_passages(texts)


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    _write(corpus, "a.txt", "甲文件\n\n甲文件讲的是量子计算机的进展。")
    _write(corpus, "b.txt", "乙文件\n\n乙文件讲的是海上风电的装机容量。")
    _write(corpus, "c.md", "# 丙文件\n\n丙文件讲的是钠离子电池的成本。")
    return corpus


def test_a_second_run_reads_and_embeds_only_what_changed(folder: Path, tmp_path: Path) -> None:
    embedder = Counting()
    settings = Settings(index_dir=tmp_path / "index", corpus=[folder], embedder="hash")
    engine = RagEngine(settings, embedder=embedder)
    first = engine.build()
    assert (first.added, first.updated, first.removed, first.documents) == (3, 0, 0, 3)
    engine.add_document("接口文档", "通过接口加入的文档。", doc_id="api-doc")

    _write(folder, "b.txt", "乙文件\n\n乙文件讲的是海上风电的新纪录。")  # changed
    (folder / "c.md").unlink()  # removed
    _write(folder, "d.txt", "丁文件\n\n丁文件讲的是氢能重卡的续航。")  # added
    embedder.texts.clear()
    second = engine.build()
    assert (second.added, second.updated, second.removed, second.unchanged) == (1, 1, 1, 1)
    assert second.embedded == len(embedder.texts) == 2  # one new chunk each in b and d
    assert all("甲文件" not in t for t in embedder.texts)
    store = engine.store
    assert store.article("c") is None
    assert store.article("d") is not None and store.article("api-doc") is not None
    assert "新纪录" in engine.search("海上风电", 1).hits[0].chunk.text

    embedder.texts.clear()
    third = engine.build()
    assert (third.unchanged, third.embedded, embedder.texts) == (3, 0, [])


def test_an_unreadable_file_is_skipped_with_its_reason(folder: Path, tmp_path: Path) -> None:
    (folder / "broken.txt").write_bytes("乱码".encode("gbk"))
    engine = RagEngine(
        Settings(index_dir=tmp_path / "index", corpus=[folder], embedder="hash"),
        embedder=HashEmbedder(),
    )
    report = engine.build()
    assert report.documents == 3
    assert len(report.skipped) == 1 and "broken.txt" in report.skipped[0]
    assert "UTF-8" in report.skipped[0]


def test_a_rebuild_whose_corpus_cannot_be_read_keeps_the_index(
    folder: Path, tmp_path: Path
) -> None:
    engine = RagEngine(
        Settings(index_dir=tmp_path / "index", corpus=[folder], embedder="hash"),
        embedder=HashEmbedder(),
    )
    engine.build()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(CorpusError, match="UTF-8"):
        engine.build([bad], rebuild=True)
    assert RagEngine(engine.settings, embedder=HashEmbedder()).store.stats().documents == 3
