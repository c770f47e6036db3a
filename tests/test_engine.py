"""The engine: rebuilds embed nothing new, updates touch one document, readers never wait."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from rag.config import Settings
from rag.engine import RagEngine
from rag.errors import DocumentNotFoundError, InvalidQueryError
from rag.index.embeddings import HashEmbedder


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed_passages(texts)


def test_rebuilding_an_unchanged_corpus_embeds_nothing(hash_settings: Settings) -> None:
    embedder = CountingEmbedder()
    engine = RagEngine(hash_settings, embedder=embedder)
    first = engine.build()
    assert first.embedded == first.chunks == embedder.embedded > 0
    second = RagEngine(hash_settings, embedder=embedder).build()
    assert second.embedded == 0
    assert embedder.embedded == first.chunks


def test_adding_a_document_embeds_only_its_chunks(hash_settings: Settings) -> None:
    embedder = CountingEmbedder()
    engine = RagEngine(hash_settings, embedder=embedder)
    engine.build()
    before = embedder.embedded
    article = engine.add_document(
        "合肥高新区新闻", "合肥高新区集聚量子企业60家。\n\n第二段说明。", doc_id="hf"
    )
    assert embedder.embedded - before == 2
    assert [p.text for p in article.paragraphs] == ["合肥高新区集聚量子企业60家。", "第二段说明。"]
    hits = engine.search("合肥 量子企业", k=3).hits
    assert hits[0].chunk.doc_id == "hf"
    # It survives a restart: a fresh engine reads it from disk.
    assert RagEngine(hash_settings, embedder=embedder).store.article("hf") is not None


def test_same_id_replaces_and_delete_removes_everywhere(hash_engine: RagEngine) -> None:
    hash_engine.add_document("旧标题", "旧的内容关于飞船。", doc_id="x")
    hash_engine.add_document("新标题", "新的内容关于火箭。", doc_id="x")
    store = hash_engine.store
    article = store.article("x")
    assert article is not None and article.title == "新标题"
    assert [c.text for c in store.iter_chunks() if c.doc_id == "x"] == ["新的内容关于火箭。"]
    assert store.stats().chunks == len(list(store.iter_chunks()))
    hash_engine.delete_document("x")
    assert store.article("x") is None
    assert all(c.doc_id != "x" for c in store.iter_chunks())
    assert all(h.chunk.doc_id != "x" for h in hash_engine.search("火箭", k=10, mode="bm25").hits)
    assert all(h.chunk.doc_id != "x" for h in hash_engine.search("火箭", k=10).hits)
    with pytest.raises(DocumentNotFoundError):
        hash_engine.delete_document("x")
    with pytest.raises(DocumentNotFoundError):
        hash_engine.document("x")


def test_search_returns_one_hit_per_paragraph(hash_engine: RagEngine) -> None:
    for mode in ("hybrid", "dense", "bm25"):
        hits = hash_engine.search("光谷瞪羚企业", k=10, mode=mode).hits  # type: ignore[arg-type]
        keys = [(h.chunk.doc_id, h.chunk.paragraph) for h in hits]
        assert len(keys) == len(set(keys))
        assert hits and all(hits[i].score >= hits[i + 1].score for i in range(len(hits) - 1))


def test_hybrid_hits_carry_their_provenance(hash_engine: RagEngine) -> None:
    hits = hash_engine.search("兰州高新区生物医药企业", k=5).hits
    top = hits[0]
    # The best paragraph names every word of the query: both rankings found it.
    assert top.bm25_rank is not None and top.dense_rank is not None
    assert top.chunk.doc_id.startswith("002_")
    # Each fused score is the reciprocal-rank sum of the ranks the hit reports.
    s = hash_engine.settings
    for hit in hits:
        assert hit.bm25_rank is not None or hit.dense_rank is not None
        expected = sum(
            weight / (s.rrf_k + rank)
            for weight, rank in (
                (s.dense_weight, hit.dense_rank),
                (1 - s.dense_weight, hit.bm25_rank),
            )
            if rank is not None
        )
        assert hit.score == pytest.approx(expected)
    # A single-ranking search reports only its own ranking.
    dense = hash_engine.search("兰州高新区生物医药企业", k=5, mode="dense").hits
    bm25 = hash_engine.search("兰州高新区生物医药企业", k=5, mode="bm25").hits
    assert all(h.dense_rank is not None and h.bm25_rank is None for h in dense)
    assert all(h.bm25_rank is not None and h.dense_rank is None for h in bm25)


@pytest.mark.parametrize(
    ("text", "message"), [("", "empty"), ("   ", "empty"), ("问" * 1001, "too long")]
)
def test_bad_questions_are_rejected(hash_engine: RagEngine, text: str, message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        hash_engine.ask(text)
    with pytest.raises(InvalidQueryError, match=message):
        hash_engine.search(text)


def test_readers_see_old_or_new_index_while_a_writer_works(hash_engine: RagEngine) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                stats = hash_engine.store.stats()
                assert stats.documents in range(29, 35)
                answer = hash_engine.ask("光谷瞪羚企业累计达到多少家？")
                assert answer.answered and "1690" in answer.answer
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(5):
        hash_engine.add_document(f"新闻{i}", f"第{i}条新闻的内容。", doc_id=f"n{i}")
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert all(hash_engine.store.article(f"n{i}") is not None for i in range(5))


def test_streamed_answer_matches_the_plain_answer(hash_engine: RagEngine) -> None:
    question = "兰州高新区目前集聚了多少家生物医药企业？"
    events = list(hash_engine.ask_stream(question))
    assert events[0].kind == "citations"
    assert events[-1].kind == "done" and events[-1].answer is not None
    assert "".join(e.text for e in events if e.kind == "delta") == events[-1].answer.answer
    assert events[-1].answer.answer == hash_engine.ask(question).answer
