"""`rag bench-scale` at a toy size: every figure of a row is measured, every chunk embedded
by the model when one is named (the hash embedder stands in for it here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.bench.scale import (
    CHUNKS_PER_DOC,
    NPROBE_SWEEP,
    SyntheticCorpus,
    measure,
    run_scale,
    scale_report,
)
from rag.index.embeddings import HashEmbedder
from rag.index.vectors import AnnParams
from tests.conftest import SEEDS


class CountingEmbedder(HashEmbedder):
    """The hash embedder standing in for a model: counts what it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "counting"
        self.passages = 0

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        self.passages += len(texts)
        return super().embed_passages(texts)


def test_a_row_measures_the_store_at_the_asked_size(tmp_path: Path) -> None:
    model = CountingEmbedder()
    (row,) = run_scale([10 * CHUNKS_PER_DOC], tmp_path, [SEEDS], lambda _: None, model)
    assert row.chunks == 10 * CHUNKS_PER_DOC and row.dense == "exact"
    assert row.embedder == "counting"
    assert row.build_s >= 0 and row.disk_mb > 0 and row.startup_s > 0 and row.rss_mb > 0
    assert 0 < row.search_p50_ms <= row.search_p95_ms and row.rss_warm_mb > 0
    assert row.first_p50_ms > 0
    assert row.bm25_exact == 1.0  # pruning never changes what BM25 returns
    assert row.add_p50_ms > 0 and row.delete_p50_ms > 0
    # every chunk embedded once by the model: the build's, then the 20 added documents'
    sentences = len(SyntheticCorpus([SEEDS]).sentences)
    assert model.passages == sentences + (10 + 20) * CHUNKS_PER_DOC
    report = scale_report([row], "rag bench-scale --sizes 80")
    assert f"| 80 | {row.embedder} |" in report


def test_model_vectors_are_the_chunks_own() -> None:
    model = CountingEmbedder()
    corpus = SyntheticCorpus([SEEDS], model=model)
    (doc,) = corpus.embedded([corpus.document(0)])
    expected = model.embed_passages([c.text for c in doc.chunks])
    assert np.allclose(doc.vectors, expected)


def test_an_approximate_row_sweeps_the_lists_searched(tmp_path: Path) -> None:
    corpus = SyntheticCorpus([SEEDS])
    ann = AnnParams(threshold=200, lists_per_sqrt=1.0)  # IVF from 200 vectors: 20 lists
    row = measure(50 * CHUNKS_PER_DOC, tmp_path, corpus, ann, lambda _: None)
    assert row.dense == "IVF-SQ8"
    assert [p.nprobe for p in row.probes] == list(NPROBE_SWEEP)
    # 16 of 20 lists and more: little is left out but what 8-bit quantisation and the
    # synthetic text's many equal vectors (ties at the 10th place) blur
    assert all(0.9 <= p.recall_at_10 <= 1 and p.dense_p50_ms > 0 for p in row.probes)
    assert "| nprobe 16 |" in scale_report([row], "rag bench-scale --sizes 400")
