"""The backend comparison of `rag eval`, run on two hash embedders (no timing assertions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.bench import backends
from rag.bench.backends import compare_backends
from rag.bench.backends_section import backends_section
from rag.bench.questions import load_questions
from rag.config import Settings
from rag.index.embeddings import HashEmbedder
from tests.conftest import SEEDS
from tests.test_eval_run import _small_question_set


def _named_hash(name: str) -> HashEmbedder:
    emb = HashEmbedder()
    emb.name = name
    return emb


def test_comparison_measures_both_backends_on_their_own_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "make_embedder", _named_hash)
    monkeypatch.setattr(backends, "ROUNDS", 2)
    questions = load_questions(_small_question_set(tmp_path / "q.jsonl"))
    settings = Settings(index_dir=tmp_path / "unused", corpus=[SEEDS], embedder="new")
    result = compare_backends(settings, tmp_path, questions, backends=("new", "old"), http=False)

    for run in (result.new, result.old):
        assert len(run.passage_rounds) == 2 and run.passages_per_second > 0
        assert len(run.query_ms) == len(questions)
        assert len(run.quality["seeds"]) == len(questions)
        assert any((tmp_path / "backends" / run.name / "seeds").iterdir())  # its own index
    tests = result.sign_tests()["seeds"]
    assert tests["recall@5"] == (0, 0, 1.0)  # identical embedders: no question differs
    text = "\n".join(backends_section(result))
    assert "new against old" in text and "query embedding p50" in text
    assert result.to_json()["runs"]["new"]["quality"]["seeds"]["recall@5"] is not None


def test_section_sets_the_goal_against_the_server_before_batching() -> None:
    from rag.bench.backends import BackendComparison, BackendRun

    def run(name: str, rps: float) -> BackendRun:
        return BackendRun(name, [100.0], [1.0], {32: {"throughput_rps": rps, "p95_ms": 9.0}})

    both = BackendComparison(run("new", 120.0), run("old", 60.0), 10, 2)
    text = "\n".join(backends_section(both))
    assert (
        "| HTTP /search c=32, requests/s; both batching queries | 120.0 | 60.0 | 2.00 | ≥ 3× |"
        in text
    )
    before = {32: {"throughput_rps": 30.0, "p95_ms": 900.0}}
    text = "\n".join(backends_section(BackendComparison(both.new, both.old, 10, 2, before)))
    assert (
        "one query per model call (the server before batching) | 120.0 | 30.0 | 4.00 | ≥ 3× |"
        in text
    )
    assert (
        "| HTTP /search c=32, requests/s; both batching queries | 120.0 | 60.0 | 2.00 | reported |"
        in text
    )
    assert BackendComparison(both.new, both.old, 10, 2, before).to_json()[
        "old_unbatched_http_search"
    ] == {"32": before[32]}
