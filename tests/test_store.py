"""The index on disk: atomic generations, clear errors for missing, corrupt or foreign indexes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import RagEngine
from rag.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rag.index.embeddings import HashEmbedder
from rag.index.store import MANIFEST, load_snapshot
from tests.conftest import SEEDS


def test_manifest_records_what_built_the_index(hash_engine: RagEngine) -> None:
    manifest = json.loads((hash_engine.index_dir / MANIFEST).read_text())
    assert manifest["format_version"] == 1
    assert manifest["embedder"] == {"name": "hash", "dim": 384}
    assert manifest["chunking"] == {
        "size": hash_engine.settings.chunk_size,
        "overlap": hash_engine.settings.chunk_overlap,
    }
    assert manifest["bm25"]["tokenizer"].startswith("jieba")
    assert manifest["counts"]["documents"] == 29
    assert manifest["counts"]["chunks"] == len(hash_engine.snapshot.chunks)
    assert (hash_engine.index_dir / manifest["generation"] / "vectors.faiss").exists()


def test_reload_gives_the_same_index(hash_engine: RagEngine) -> None:
    again = load_snapshot(hash_engine.index_dir, hash_engine.params)
    snap = hash_engine.snapshot
    assert again.chunks == snap.chunks
    assert list(again.articles) == list(snap.articles)
    assert again.articles["000_edf5affd2abe794d-01"] == snap.articles["000_edf5affd2abe794d-01"]


def test_missing_index(tmp_path: Path) -> None:
    engine = RagEngine(
        Settings(index_dir=tmp_path / "none", embedder="hash"), embedder=HashEmbedder()
    )
    with pytest.raises(IndexNotFoundError, match="rag index"):
        _ = engine.snapshot


def test_index_built_with_another_embedder_is_refused(hash_engine: RagEngine) -> None:
    other = HashEmbedder(dim=16)
    other.name = "other"
    engine = RagEngine(hash_engine.settings, embedder=other)
    with pytest.raises(IndexMismatchError, match="built with embedder hash"):
        _ = engine.snapshot


def test_index_built_with_other_chunking_is_refused(hash_engine: RagEngine) -> None:
    settings = hash_engine.settings.model_copy(update={"chunk_size": 99})
    with pytest.raises(IndexMismatchError, match="chunking"):
        _ = RagEngine(settings, embedder=HashEmbedder()).snapshot


@pytest.mark.parametrize("damage", ["manifest", "vectors", "chunks"])
def test_corrupt_index_is_a_clear_error(hash_engine: RagEngine, damage: str) -> None:
    index_dir = hash_engine.index_dir
    generation = json.loads((index_dir / MANIFEST).read_text())["generation"]
    target = {
        "manifest": index_dir / MANIFEST,
        "vectors": index_dir / generation / "vectors.faiss",
        "chunks": index_dir / generation / "chunks.jsonl",
    }[damage]
    target.write_bytes(b"\x00garbage{")
    with pytest.raises(IndexCorruptError, match="rebuild"):
        load_snapshot(index_dir, hash_engine.params)


def test_crash_before_commit_keeps_previous_index(
    hash_engine: RagEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = hash_engine.index_dir
    before = (index_dir / MANIFEST).read_text()
    real_replace = os.replace

    def crash(src: object, dst: object) -> None:
        if str(dst).endswith(MANIFEST):
            raise OSError("simulated crash")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        hash_engine.add_document("新文章", "这是一段新的内容。", doc_id="new")
    monkeypatch.setattr(os, "replace", real_replace)
    assert (index_dir / MANIFEST).read_text() == before
    fresh = RagEngine(hash_engine.settings, embedder=HashEmbedder())
    assert "new" not in fresh.snapshot.articles
    assert len(fresh.snapshot.articles) == 29


def test_old_generations_are_collected(hash_engine: RagEngine) -> None:
    for i in range(3):
        hash_engine.add_document(f"标题{i}", f"内容{i}。", doc_id=f"d{i}")
    generations = sorted(p.name for p in hash_engine.index_dir.glob("gen-*"))
    assert len(generations) == 2  # the current one and the one before it
    assert not list(hash_engine.index_dir.glob("*.tmp*"))


def test_build_fails_before_touching_an_existing_index(
    hash_engine: RagEngine, tmp_path: Path
) -> None:
    before = (hash_engine.index_dir / MANIFEST).read_text()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00\x00")
    from rag.errors import CorpusError

    with pytest.raises(CorpusError):
        hash_engine.build([bad])
    assert (hash_engine.index_dir / MANIFEST).read_text() == before
    assert (
        RagEngine(hash_engine.settings, embedder=HashEmbedder()).snapshot.counts["documents"] == 29
    )
    assert SEEDS.exists()
