"""Why the engine fuses two Milvus searches rather than calling ``hybrid_search``: the figures.

``python -m rag.bench.milvus_fusion`` times, per question of the seed set, the engine's own
hybrid search on the Milvus store (a dense and a BM25 search, fused in the engine) against one
``hybrid_search`` with ``RRFRanker(60)`` over the same two requests, and counts the questions
whose top-5 paragraphs agree. It reads the Milvus store configured by the environment
(``RAG_STORE=milvus``, ``RAG_MILVUS_URI``, ``RAG_INDEX_DIR``); build it first with ``rag index``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rag.bench.questions import load_questions
from rag.config import get_settings
from rag.engine import RagEngine
from rag.index.milvus import MilvusStore
from rag.index.milvus_schema import CHUNK_FIELDS
from rag.text.normalize import normalize
from rag.text.tokens import tokenize


def hybrid_search_top(
    store: MilvusStore, vector: list[float], text: str, n: int, k: int
) -> list[tuple[str, int]]:
    """The top ``k`` paragraphs of Milvus's own RRF fusion over ``n`` candidates per list."""
    from pymilvus import AnnSearchRequest, RRFRanker

    requests = [
        AnnSearchRequest(data=[vector], anns_field="dense", param={"metric_type": "IP"}, limit=n),
        AnnSearchRequest(
            data=[" ".join(tokenize(text))],
            anns_field="sparse",
            param={"metric_type": "BM25"},
            limit=n,
        ),
    ]
    found = store._c.hybrid_search(
        store.config.collection,
        requests,
        RRFRanker(60),
        limit=n,
        output_fields=CHUNK_FIELDS,
        consistency_level=store.config.consistency,
    )
    top: list[tuple[str, int]] = []
    for hit in found[0]:
        key = (hit["entity"]["doc_id"], int(hit["entity"]["paragraph"]))
        if key not in top:
            top.append(key)
        if len(top) == k:
            break
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    args = parser.parse_args()
    settings = get_settings()
    if settings.store != "milvus":
        raise SystemExit("error: set RAG_STORE=milvus (and RAG_MILVUS_URI) first")
    engine = RagEngine(settings)
    store = engine.store
    assert isinstance(store, MilvusStore)
    n = settings.candidates
    engine_ms, milvus_ms, agree = [], [], 0
    questions = [q.question for q in load_questions(args.questions)]
    for q in questions:
        vector = engine.retriever.embed_query(normalize(q))  # memoised: no model call timed
        started = time.perf_counter()
        hits = engine.retriever.search(store, q, 5)
        engine_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        top = hybrid_search_top(store, vector.tolist(), normalize(q), n, 5)
        milvus_ms.append((time.perf_counter() - started) * 1000)
        agree += top == [(h.chunk.doc_id, h.chunk.paragraph) for h in hits]
    print(
        f"{len(questions)} questions, {settings.embedder}: engine fusion of two searches "
        f"p50 {statistics.median(engine_ms):.1f} ms; hybrid_search + RRFRanker(60) "
        f"p50 {statistics.median(milvus_ms):.1f} ms; same top-5 paragraphs for {agree}"
    )


if __name__ == "__main__":
    main()
