"""The local store: incremental writes, clear errors for missing, corrupt or foreign indexes,
crash safety, and several processes on one index."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.engine import RagEngine
from rag.errors import CorpusError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from rag.index.embeddings import HashEmbedder
from rag.index.lexical import idf as lexical_idf
from rag.index.local import DB_FILE, FORMAT, LocalStore
from rag.index.vectors import AnnParams
from rag.text.tokens import tokenize
from tests.conftest import ROOT, SEEDS


def _meta(index_dir: Path) -> dict[str, str]:
    with sqlite3.connect(index_dir / DB_FILE) as db:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())


def test_the_index_records_what_built_it(hash_engine: RagEngine) -> None:
    meta = _meta(hash_engine.index_dir)
    params = json.loads(meta["params"])
    assert params["embedder"] == {"name": "hash", "dim": 384}
    assert params["chunking"] == {
        "size": hash_engine.settings.chunk_size,
        "overlap": hash_engine.settings.chunk_overlap,
    }
    stats = hash_engine.store.stats()
    assert (stats.documents, stats.chunks) == (29, int(meta["chunks"]))
    assert stats.chunks == len(list(hash_engine.store.iter_chunks()))
    assert list(hash_engine.index_dir.glob("vectors.*.faiss"))


def test_reopening_gives_the_same_index(hash_engine: RagEngine) -> None:
    again = LocalStore.open(hash_engine.index_dir, hash_engine.params)
    assert list(again.iter_chunks()) == list(hash_engine.store.iter_chunks())
    doc = "000_edf5affd2abe794d-01"
    assert again.article(doc) == hash_engine.store.article(doc)
    assert again.articles(0, 100) == hash_engine.store.articles(0, 100)


def test_missing_index(tmp_path: Path) -> None:
    engine = RagEngine(
        Settings(index_dir=tmp_path / "none", embedder="hash"), embedder=HashEmbedder()
    )
    with pytest.raises(IndexNotFoundError, match="rag index"):
        _ = engine.store


def test_index_built_with_another_embedder_is_refused(hash_engine: RagEngine) -> None:
    other = HashEmbedder(dim=16)
    other.name = "other"
    engine = RagEngine(hash_engine.settings, embedder=other)
    with pytest.raises(IndexMismatchError, match="built with embedder hash"):
        _ = engine.store


def test_index_built_with_other_chunking_is_refused(hash_engine: RagEngine) -> None:
    settings = hash_engine.settings.model_copy(update={"chunk_size": 99})
    with pytest.raises(IndexMismatchError, match="chunking"):
        _ = RagEngine(settings, embedder=HashEmbedder()).store


def test_an_index_of_the_previous_release_is_refused_in_one_line(tmp_path: Path) -> None:
    index_dir = tmp_path / "old"
    (index_dir / "gen-000001").mkdir(parents=True)
    (index_dir / "manifest.json").write_text('{"format_version": 1}')
    engine = RagEngine(Settings(index_dir=index_dir, embedder="hash"), embedder=HashEmbedder())
    with pytest.raises(IndexMismatchError, match=r"earlier release.*rag index --rebuild"):
        _ = engine.store
    engine.build([SEEDS], rebuild=True)
    assert engine.store.stats().documents == 29
    assert not (index_dir / "manifest.json").exists() and not (index_dir / "gen-000001").exists()


def test_a_corrupt_database_is_a_clear_error(hash_engine: RagEngine) -> None:
    (hash_engine.index_dir / DB_FILE).write_bytes(b"\x00garbage{" * 100)
    with pytest.raises(IndexCorruptError, match="rebuild"):
        LocalStore.open(hash_engine.index_dir, hash_engine.params)


def test_a_damaged_vector_cache_is_rebuilt_from_the_database(hash_engine: RagEngine) -> None:
    expected = [h.chunk for h in hash_engine.search("光谷瞪羚企业", 5, mode="dense").hits]
    for cache in hash_engine.index_dir.glob("vectors.*.faiss"):
        cache.write_bytes(b"\x00garbage")
    fresh = RagEngine(hash_engine.settings, embedder=HashEmbedder())
    assert [h.chunk for h in fresh.search("光谷瞪羚企业", 5, mode="dense").hits] == expected


def test_a_failed_write_leaves_the_index_as_it_was(
    hash_engine: RagEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = hash_engine.store.stats()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("simulated crash")

    monkeypatch.setattr(LocalStore, "_append_postings", crash)
    with pytest.raises(OSError, match="simulated"):
        hash_engine.add_document("新文章", "这是一段新的内容。", doc_id="new")
    monkeypatch.undo()
    fresh = RagEngine(hash_engine.settings, embedder=HashEmbedder())
    assert fresh.store.stats() == before
    assert fresh.store.article("new") is None


def test_leftover_temporary_files_are_removed_on_open(hash_engine: RagEngine) -> None:
    leftover = hash_engine.index_dir / ".vectors.99.0.faiss.tmp1234"
    leftover.write_bytes(b"half")
    LocalStore.open(hash_engine.index_dir, hash_engine.params)
    assert not leftover.exists()


def test_a_bad_single_file_fails_before_touching_the_index(
    hash_engine: RagEngine, tmp_path: Path
) -> None:
    before = hash_engine.store.stats()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00\x00")
    with pytest.raises(CorpusError, match=r"bad\.txt"):
        hash_engine.build([bad])
    assert RagEngine(hash_engine.settings, embedder=HashEmbedder()).store.stats() == before


def test_a_write_costs_what_changed(hash_engine: RagEngine) -> None:
    """One document added: one batch of postings, the other chunks untouched."""
    with sqlite3.connect(hash_engine.index_dir / DB_FILE) as db:
        keys_before = [k for (k,) in db.execute("SELECT key FROM chunks ORDER BY key")]
    hash_engine.add_document("新文章", "石墨烯电池的能量密度提高了三成。", doc_id="new")
    with sqlite3.connect(hash_engine.index_dir / DB_FILE) as db:
        keys_after = [k for (k,) in db.execute("SELECT key FROM chunks ORDER BY key")]
        last = db.execute("SELECT max(batch) FROM postings").fetchone()[0]
        written = db.execute("SELECT count(*) FROM postings WHERE batch = ?", (last,)).fetchone()
        tokens = json.loads(
            db.execute(
                "SELECT tokens FROM chunk_data JOIN chunks USING (key) WHERE doc_id = 'new'"
            ).fetchone()[0]
        )
    assert keys_after[: len(keys_before)] == keys_before and len(keys_after) == len(keys_before) + 1
    assert written[0] == len(set(tokens))  # one posting list per term of the new chunk, no more
    assert hash_engine.search("石墨烯电池", 1).hits[0].chunk.doc_id == "new"


def test_deleted_documents_leave_both_indexes_and_compaction_keeps_results(
    hash_engine: RagEngine,
) -> None:
    query = "光谷瞪羚企业累计达到多少家"
    hash_engine.add_document("瞪羚", "光谷瞪羚企业累计达到多少家，这里重复一遍。", doc_id="dup")
    hash_engine.delete_document("dup")
    for mode in ("bm25", "dense"):
        assert "dup" not in {h.chunk.doc_id for h in hash_engine.search(query, 20, mode).hits}
    before = hash_engine.search(query, 10).hits
    hash_engine.compact()
    after = RagEngine(hash_engine.settings, embedder=HashEmbedder()).search(query, 10).hits
    assert [(h.chunk, round(h.score, 9)) for h in after] == [
        (h.chunk, round(h.score, 9)) for h in before
    ]
    with sqlite3.connect(hash_engine.index_dir / DB_FILE) as db:
        assert db.execute("SELECT count(*) FROM deletions").fetchone()[0] == 0
        per_term = "SELECT max(n) FROM (SELECT count(*) AS n FROM postings GROUP BY term)"
        assert db.execute(per_term).fetchone()[0] == 1


def test_bm25_statistics_are_kept_incrementally(hash_engine: RagEngine, tmp_path: Path) -> None:
    """A document added then deleted leaves the same scores as an index that never had it."""
    query = "高新区 企业 创新"
    expected = [(h.chunk.chunk_id, h.score) for h in hash_engine.search(query, 10, "bm25").hits]
    idf_before = hash_engine.store.idf(["高新区", "企业"])
    hash_engine.add_document("高新区", "高新区企业创新高新区企业创新。", doc_id="extra")
    assert hash_engine.store.idf(["企业"])["企业"] < idf_before["企业"]
    hash_engine.delete_document("extra")
    got = [(h.chunk.chunk_id, h.score) for h in hash_engine.search(query, 10, "bm25").hits]
    assert [c for c, _ in got] == [c for c, _ in expected]
    assert np.allclose([s for _, s in got], [s for _, s in expected])
    assert hash_engine.store.idf(["高新区", "企业"]) == pytest.approx(idf_before)


def test_a_compaction_started_by_writes_finishes_before_the_engine_closes(
    hash_engine: RagEngine,
) -> None:
    """A process that writes and exits (``rag add``, whose engine is closed on the way out)
    still leaves the index compacted once enough write batches have piled up: closing the
    engine waits for the compaction its last write started, which exiting would kill."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from rag.config import Settings
        from rag.engine import RagEngine
        from rag.index.embeddings import HashEmbedder
        settings = Settings(index_dir=Path({str(hash_engine.index_dir)!r}), embedder="hash")
        engine = RagEngine(settings, embedder=HashEmbedder())
        for i in range(65):  # the 65th write batch since the last merge starts a compaction
            engine.add_document(f"短讯{{i}}", f"第{{i}}条短讯：园区新增企业{{i}}家。", doc_id=f"n{{i}}")
        engine.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=120)
    with sqlite3.connect(hash_engine.index_dir / DB_FILE) as db:
        merged = db.execute("SELECT value FROM meta WHERE key = 'merged_batch'").fetchone()
        (logged,) = db.execute("SELECT count(*) FROM df_log").fetchone()
    assert merged is not None and int(merged[0]) >= 65 and logged == 0


def test_document_frequencies_stay_exact_across_stores_and_compaction(
    hash_engine: RagEngine,
) -> None:
    """Writes log their df changes; compaction folds them in. Every store's IDF matches
    counting the chunks, whichever store wrote or compacted last."""
    words = ["高新区", "企业", "石墨烯", "创新"]
    other = RagEngine(hash_engine.settings, embedder=HashEmbedder())

    def counted() -> dict[str, float]:
        with sqlite3.connect(hash_engine.index_dir / DB_FILE) as db:
            chunks = [set(json.loads(t)) for (t,) in db.execute("SELECT tokens FROM chunk_data")]
        df = {w: sum(w in c for c in chunks) for w in words}
        return {w: lexical_idf(d, len(chunks)) for w, d in df.items() if d}

    def check(*engines: RagEngine) -> None:
        want = counted()
        for engine in engines:
            got = engine.store.idf(words)
            assert {w: got[w] for w in want} == pytest.approx(want)

    (_, (first, *_)) = hash_engine.store.articles(0, 1)
    hash_engine.add_document("新材料", "石墨烯企业在高新区创新。石墨烯企业。", doc_id="g1")
    check(hash_engine, other)
    other.delete_document(first.doc_id)
    other.add_document("再写", "高新区企业创新不止。", doc_id="g2")
    check(hash_engine, other)
    other.compact()
    check(hash_engine, other)
    hash_engine.delete_document("g1")
    check(hash_engine, other, RagEngine(hash_engine.settings, embedder=HashEmbedder()))
    hash_engine.compact()
    check(hash_engine, other)


def test_above_the_threshold_the_dense_index_becomes_approximate(
    hash_engine: RagEngine,
) -> None:
    exact = LocalStore.open(hash_engine.index_dir, hash_engine.params)
    ann = LocalStore.open(hash_engine.index_dir, hash_engine.params, AnnParams(threshold=50))
    ann.compact()
    assert ann._vectors is not None and ann._vectors.approximate
    query = hash_engine.embedder.embed_query("光谷瞪羚企业累计达到多少家")
    want = {r.chunk.chunk_id for r in exact.dense_search(query, 10)}
    got = {r.chunk.chunk_id for r in ann.dense_search(query, 10)}
    assert len(want & got) >= 5  # IVF over 281 random-ish vectors: recall is reported, not exact


def test_a_second_store_on_the_same_index_sees_writes_and_both_writers_keep_theirs(
    hash_engine: RagEngine,
) -> None:
    other = RagEngine(hash_engine.settings, embedder=HashEmbedder())
    assert other.store.stats().documents == 29
    hash_engine.add_document("甲", "第一个写入者的内容。", doc_id="a")
    other.add_document("乙", "第二个写入者的内容。", doc_id="b")
    for engine in (hash_engine, other):
        assert engine.store.article("a") is not None and engine.store.article("b") is not None
        assert engine.store.stats().documents == 31
        hits = {h.chunk.doc_id for h in engine.search("第一个写入者", 3, "dense").hits}
        assert "a" in hits


def test_another_process_writing_is_seen_without_restart(hash_engine: RagEngine) -> None:
    assert hash_engine.store.stats().documents == 29
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from rag.config import Settings
        from rag.engine import RagEngine
        from rag.index.embeddings import HashEmbedder
        settings = Settings(index_dir=Path({str(hash_engine.index_dir)!r}), embedder="hash")
        RagEngine(settings, embedder=HashEmbedder()).add_document(
            "外部", "另一个进程写入的石墨烯段落。", doc_id="ext"
        )
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=120)
    assert hash_engine.store.stats().documents == 30
    assert hash_engine.search("另一个进程写入的石墨烯", 1).hits[0].chunk.doc_id == "ext"
    hash_engine.add_document("本进程", "本进程随后的写入。", doc_id="mine")
    fresh = RagEngine(hash_engine.settings, embedder=HashEmbedder())
    assert fresh.store.article("ext") is not None and fresh.store.article("mine") is not None


def test_an_index_of_the_previous_format_is_upgraded_in_place(hash_engine: RagEngine) -> None:
    query = "光谷瞪羚企业累计达到多少家"
    before = [(h.chunk.chunk_id, h.score) for h in hash_engine.search(query, 10).hits]
    hash_engine.close()
    with sqlite3.connect(hash_engine.index_dir / DB_FILE) as db:  # as format 2 stored them
        db.executescript(
            """
            CREATE TABLE old (term INTEGER NOT NULL, batch INTEGER NOT NULL, ids BLOB NOT NULL,
                tfs BLOB NOT NULL, PRIMARY KEY (term, batch)) WITHOUT ROWID;
            INSERT INTO old SELECT term, batch, ids, tfs FROM postings;
            DROP TABLE postings;
            ALTER TABLE old RENAME TO postings;
            DROP TABLE df_log;
            UPDATE meta SET value = 'rag-zh-local/2' WHERE key = 'format';
            """
        )
    engine = RagEngine(hash_engine.settings, embedder=HashEmbedder())
    assert [(h.chunk.chunk_id, h.score) for h in engine.search(query, 10).hits] == before
    meta = _meta(engine.index_dir)
    assert meta["format"] == FORMAT
    with sqlite3.connect(engine.index_dir / DB_FILE) as db:
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'postings'").fetchone()
    assert "WITHOUT ROWID" not in sql
    engine.add_document("新文档", "光谷瞪羚企业累计达到两千家。", doc_id="after-upgrade")
    assert "after-upgrade" in {h.chunk.doc_id for h in engine.search(query, 10, "bm25").hits}


def test_long_posting_lists_are_pruned_without_changing_results(
    hash_engine: RagEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.index.local as local

    queries = [
        "高新区 企业 创新 发展",
        "光谷瞪羚企业累计达到多少家",
        "企业",
        "产业 项目 建设 企业 企业",
    ]

    def results(store: LocalStore) -> list[list[tuple[str, float]]]:
        return [
            [(r.chunk.chunk_id, round(r.score, 5)) for r in store.lexical_search(tokenize(q), 20)]
            for q in queries
        ]

    def exhaustive() -> list[list[tuple[str, float]]]:
        with monkeypatch.context() as m:
            m.setattr(local, "LONG_LIST", 10**9)
            return results(LocalStore.open(hash_engine.index_dir, hash_engine.params))

    monkeypatch.setattr(local, "LONG_LIST", 8)  # the seed index's frequent terms are long
    store = LocalStore.open(hash_engine.index_dir, hash_engine.params)
    store.compact()
    assert results(store) == exhaustive()
    assert len(store._lists._entries) > 3  # frequent terms were kept and pruned
    hash_engine.add_document("新", "高新区企业创新发展，企业再创新。", doc_id="fresh")
    hash_engine.delete_document(hash_engine.store.articles(0, 1)[1][0].doc_id)
    assert results(store) == exhaustive()  # a later batch and a deletion over cached lists
    LocalStore.open(hash_engine.index_dir, hash_engine.params).compact()  # another writer merges
    assert results(store) == exhaustive()


def test_an_article_read_again_after_another_process_replaced_it_is_the_new_one(
    hash_engine: RagEngine,
) -> None:
    other = RagEngine(hash_engine.settings, embedder=HashEmbedder())
    hash_engine.add_document("旧标题", "旧的内容。", doc_id="same")
    first = hash_engine.store.article("same")
    assert first is not None and hash_engine.store.article("same") is first  # kept
    other.add_document("新标题", "新的内容。", doc_id="same")
    again = hash_engine.store.article("same")
    assert again is not None and again.title == "新标题"
    other.delete_document("same")
    assert hash_engine.store.article("same") is None
