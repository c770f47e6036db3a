"""Speed section plumbing: raw-embedder comparison and HTTP latency (no timing assertions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.bench.speed import (
    IndexingSpeed,
    indexing_speed,
    measure_ask_overhead,
    measure_http,
    raw_encoder,
    time_raw,
)
from rag.bench.systems import build_engine, clear_index, embedded_texts, planned_texts
from rag.config import Settings
from rag.index.embeddings import HashEmbedder
from rag.ingest.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[1]


def test_cold_build_embeds_every_chunk_and_feeds_the_raw_comparison(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "idx", corpus=[ROOT / "seeds"], embedder="hash")
    build_engine(settings, settings.corpus, HashEmbedder())
    (tmp_path / "idx" / "keep.txt").write_text("not an index file")
    engine, build = build_engine(settings, settings.corpus, HashEmbedder(), cold=True)
    texts = embedded_texts(engine)
    assert build.embedded == len(texts) == build.chunks  # nothing came from the cache
    assert (tmp_path / "idx" / "keep.txt").exists()  # clearing touches index files only

    assert planned_texts(load_corpus(settings.corpus), settings) == texts

    raw = time_raw(raw_encoder("hash"), texts)
    speed = indexing_speed(engine.embedder, texts, build, [raw])
    assert speed.texts == len(texts)
    assert speed.unit == "characters" and speed.tokens == sum(len(t) for t in texts)
    assert speed.ratio == pytest.approx(raw / build.seconds)


def test_ratio_is_raw_time_over_build_time() -> None:
    speed = IndexingSpeed(
        10, 1000, "tokens", build_seconds=2.0, embed_seconds=1.5, raw_runs=(1.5, 1.7)
    )
    assert speed.raw_seconds == pytest.approx(1.6)  # the mean of the runs around the build
    assert speed.indexing_per_second == 500
    assert speed.raw_per_second == pytest.approx(625)
    assert speed.ratio == pytest.approx(0.8)


def test_clear_index_on_a_missing_directory_is_a_no_op(tmp_path: Path) -> None:
    clear_index(tmp_path / "absent")


QUESTIONS = ["光谷瞪羚企业累计达到多少家？", "广州知识城综合保税区获批了吗？", "拉萨高新区"]


@pytest.fixture
def served_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seed index with the hash embedder, which servers started from here also use."""
    monkeypatch.setenv("RAG_EMBEDDER", "hash")
    settings = Settings(index_dir=tmp_path / "idx", corpus=[ROOT / "seeds"], embedder="hash")
    build_engine(settings, settings.corpus, HashEmbedder())
    return tmp_path / "idx"


@pytest.mark.e2e
def test_http_latency_against_a_real_server(served_index: Path) -> None:
    http = measure_http(
        served_index, QUESTIONS, concurrency=(2,), endpoint="search", log=lambda _: None
    )
    assert http.skipped is None and http.endpoint == "search"
    [level] = http.levels
    assert level["concurrency"] == 2 and level["requests"] == 3
    assert level["errors"] == 0, level["error_examples"]
    assert level["server_rss_mb"] > 0


@pytest.mark.e2e
def test_ask_against_search_is_timed_on_two_servers_in_turn(served_index: Path) -> None:
    overhead = measure_ask_overhead(served_index, QUESTIONS, log=lambda _: None)
    assert len(overhead.search_ms) == len(overhead.ask_ms) == len(QUESTIONS)
    assert min(overhead.search_ms + overhead.ask_ms) > 0
    assert isinstance(overhead.difference_p50_ms, float)
