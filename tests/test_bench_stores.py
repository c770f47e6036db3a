"""`rag bench-stores`: both stores built from one embedding cache and asked the same questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.bench.stores import StoreRow, run_store_bench, stores_report
from rag.config import Settings
from tests.conftest import ROOT, SEEDS, release_milvus_lite

pytest.importorskip("pymilvus")


def test_both_stores_are_reported_side_by_side(tmp_path: Path) -> None:
    settings = Settings(corpus=[SEEDS], embedder="hash")
    seen: list[int] = []
    try:
        rows = run_store_bench(
            settings,
            ROOT / "eval" / "questions.jsonl",
            None,
            tmp_path,
            lambda _: None,
            limit=4,
            on_row=lambda rows: seen.append(len(rows)),
        )
    finally:
        release_milvus_lite(tmp_path / "seeds" / "milvus")
    assert [(r.corpus, r.store) for r in rows] == [("seeds", "local"), ("seeds", "milvus")]
    assert seen == [1, 2]  # the report is rewritten after each store
    local, milvus = rows
    assert local.chunks == milvus.chunks and milvus.embedded == 0  # the cache was shared
    for r in rows:
        assert isinstance(r, StoreRow) and r.questions == 4
        assert r.recall_at_5 is not None and 0 <= r.recall_at_5 <= 1
    report = stores_report(rows, "rag bench-stores --limit 4")
    assert "| seeds | milvus | 4 |" in report and "`rag bench-stores --limit 4`" in report
