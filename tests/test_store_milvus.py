"""The Milvus store on Milvus Lite: the same results and citations as the local store, writes
by document id searchable at once, settings checked, and one clear error when Milvus is gone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.config import Settings
from rag.engine import RagEngine
from rag.errors import IndexMismatchError, IndexNotFoundError, StoreUnavailableError
from rag.index.embeddings import HashEmbedder
from rag.index.milvus_schema import PART_CHARS
from rag.text.tokens import tokenize
from tests.conftest import ROOT, SEEDS, release_milvus_lite

pytest.importorskip("pymilvus")

QUERIES = ["光谷瞪羚企业", "广州知识城综合保税区是什么时候获批的？", "生物医药", "人工智能 大模型"]


def _where(hits: list) -> list[tuple[str, int, int, int]]:  # type: ignore[type-arg]
    return [(h.chunk.doc_id, h.chunk.paragraph, h.chunk.start, h.chunk.end) for h in hits]


def test_search_and_answers_match_the_local_store(
    hash_engine: RagEngine, hash_milvus_engine: RagEngine
) -> None:
    for query in QUERIES:
        for mode in ("dense", "bm25", "hybrid"):
            local = hash_engine.search(query, 5, mode).hits  # type: ignore[arg-type]
            milvus = hash_milvus_engine.search(query, 5, mode).hits  # type: ignore[arg-type]
            if mode == "dense":  # exact scores: the same vectors, inner product on both
                assert _where(milvus) == _where(local), query
            else:  # Milvus's analyser tokenises for BM25: the local best is among the top 5
                assert _where(local)[0] in _where(milvus), (query, mode)
    question = "光谷瞪羚企业累计达到多少家？"
    assert hash_milvus_engine.ask(question).citations == hash_engine.ask(question).citations
    # An English query reaches Milvus's BM25 as the Chinese words that translate it (the hash
    # vectors of English text tie near zero, so dense ranks are not compared for it).
    english = "artificial intelligence companies"
    local = hash_engine.search(english, 5, "bm25").hits
    assert local and _where(local)[0] in _where(hash_milvus_engine.search(english, 5, "bm25").hits)


def test_documents_and_idf_read_back_as_stored(
    hash_engine: RagEngine, hash_milvus_engine: RagEngine
) -> None:
    local, milvus = hash_engine.store, hash_milvus_engine.store
    assert milvus.articles(0, 100) == local.articles(0, 100)
    assert milvus.origins() == local.origins()
    stats, expected = milvus.stats(), local.stats()
    assert (stats.documents, stats.paragraphs, stats.chunks) == (
        expected.documents,
        expected.paragraphs,
        expected.chunks,
    )
    tokens = tokenize("光谷瞪羚企业累计达到多少家 量子计算机")
    assert milvus.idf(tokens) == pytest.approx(local.idf(tokens))
    doc = "000_edf5affd2abe794d-01"
    assert milvus.paragraph_chunks(doc, 11) == local.paragraph_chunks(doc, 11)
    ids = [c.chunk_id for c in local.paragraph_chunks(doc, 11)] + ["no-such-chunk"]
    assert milvus.chunk_vectors(ids) == pytest.approx(local.chunk_vectors(ids))
    assert sorted(c.chunk_id for c in milvus.iter_chunks()) == sorted(
        c.chunk_id for c in local.iter_chunks()
    )


def test_writes_by_document_id_are_searchable_at_once(hash_milvus_engine: RagEngine) -> None:
    engine = hash_milvus_engine
    before = engine.store.stats()
    engine.add_document("量子通信", "合肥量子通信干线全长两千公里。\n\n第二段说别的。", doc_id="q1")
    # A word only the new document has: Milvus Lite scores BM25 per segment (see the README)
    assert engine.search("干线", 1, "bm25").hits[0].chunk.doc_id == "q1"
    assert engine.search("合肥量子通信干线全长两千公里", 1, "dense").hits[0].chunk.doc_id == "q1"
    after = engine.store.stats()
    assert (after.documents, after.paragraphs) == (before.documents + 1, before.paragraphs + 2)
    assert after.version != before.version
    engine.add_document("量子通信", "新的正文只讲卫星。", doc_id="q1")  # replaces by id
    article = engine.document("q1")
    assert [p.text for p in article.paragraphs] == ["新的正文只讲卫星。"]
    assert "q1" not in {h.chunk.doc_id for h in engine.search("干线", 5, "bm25").hits}
    assert engine.store.idf(["干线"]).get("干线") is None  # its document frequency went to 0
    engine.delete_document("q1")
    assert engine.store.article("q1") is None
    assert "q1" not in {h.chunk.doc_id for h in engine.search("卫星", 5, "hybrid").hits}
    assert engine.store.stats().documents == before.documents


def test_a_long_document_is_stored_in_parts_and_reads_back_whole(
    hash_milvus_engine: RagEngine,
) -> None:
    long = "长" * (PART_CHARS // 3) + "。"  # ASCII-escaped JSON: six characters per CJK one
    text = "\n\n".join([long, "结尾一段。"])
    hash_milvus_engine.add_document("长文", text, doc_id="long")
    article = hash_milvus_engine.document("long")
    assert [p.text for p in article.paragraphs] == [long, "结尾一段。"]
    hash_milvus_engine.add_document("长文", "短了。", doc_id="long")  # fewer parts than before
    assert [p.text for p in hash_milvus_engine.document("long").paragraphs] == ["短了。"]


def test_the_settings_are_recorded_and_a_mismatch_is_refused(
    hash_milvus_engine: RagEngine,
) -> None:
    from rag.index.milvus import RECORD_FILE  # imports pymilvus: only where it is used

    record = json.loads((hash_milvus_engine.index_dir / RECORD_FILE).read_text())
    assert record["params"]["embedder"] == {"name": "hash", "dim": 384}
    assert record["collection"] == "rag_zh"
    hash_milvus_engine.close()
    other = hash_milvus_engine.settings.model_copy(update={"chunk_size": 300})
    with pytest.raises(IndexMismatchError, match="chunking"):
        RagEngine(other, embedder=HashEmbedder()).store  # noqa: B018


def test_a_missing_collection_is_index_not_found(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path, embedder="hash", store="milvus")
    engine = RagEngine(settings, embedder=HashEmbedder())
    try:
        assert not engine.has_index()
        with pytest.raises(IndexNotFoundError, match="rag index"):
            engine.search("光谷")
    finally:
        release_milvus_lite(tmp_path)


def test_an_unreachable_server_is_one_line_at_start_and_503_during_requests(
    tmp_path: Path, hash_milvus_engine: RagEngine
) -> None:
    down = Settings(
        index_dir=tmp_path,
        embedder="hash",
        store="milvus",
        milvus_uri="http://127.0.0.1:9",
        milvus_timeout=2,
    )
    with pytest.raises(StoreUnavailableError, match=r"127\.0\.0\.1:9"):
        RagEngine(down, embedder=HashEmbedder()).store  # noqa: B018
    with TestClient(create_app(engine=hash_milvus_engine)) as client:
        assert client.post("/search", json={"query": "光谷"}).status_code == 200
        release_milvus_lite(hash_milvus_engine.index_dir)  # Milvus goes away mid-service
        r = client.post("/search", json={"query": "光谷"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "store_unavailable"


def test_rag_index_against_an_unreachable_server_prints_one_line(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "RAG_STORE": "milvus",
        "RAG_MILVUS_URI": "http://127.0.0.1:9",
        "RAG_MILVUS_TIMEOUT": "2",
        "RAG_EMBEDDER": "hash",
        "RAG_INDEX_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "index", "--corpus", str(SEEDS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Milvus at http://127.0.0.1:9" in lines[0], out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_a_uri_that_is_neither_a_server_nor_a_lite_file_is_refused(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path, embedder="hash", store="milvus", milvus_uri="m.txt")
    with pytest.raises(StoreUnavailableError, match=r"\.db"):
        RagEngine(settings, embedder=HashEmbedder()).store  # noqa: B018


def test_rebuild_drops_the_collections(hash_milvus_engine: RagEngine) -> None:
    hash_milvus_engine.add_document("临时", "只在重建前存在。", doc_id="tmp")
    report = hash_milvus_engine.build([SEEDS], rebuild=True)
    assert report.documents == 29
    assert hash_milvus_engine.store.article("tmp") is None


def test_a_lite_file_another_process_holds_is_one_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "milvus.db"
    code = (
        "import sys; from pymilvus import MilvusClient; "
        f"c = MilvusClient({str(db)!r}); c.list_collections(); print('open', flush=True); "
        "sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        settings = Settings(index_dir=tmp_path, embedder="hash", store="milvus")
        with pytest.raises(StoreUnavailableError, match="another process has it open"):
            RagEngine(settings, embedder=HashEmbedder()).store  # noqa: B018
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
        release_milvus_lite(tmp_path)
