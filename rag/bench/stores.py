"""``rag bench-stores``: the local store and the Milvus store side by side on the same questions.

Each corpus (the seed set, and the CMRC trial when given) is built once per store from the
same embedding cache, so the build time compares the stores' writes, not the model (the
first store built fills the cache: its time includes embedding, said in the report). Every
question is then asked once of the hybrid engine on each store: recall@5 of the retrieved
paragraphs, answer_hit of the extractive answer, and the p50 of ``RagEngine.ask`` (query
embedding included, the same on both stores).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.bench.cmrc import load_cmrc, write_corpus
from rag.bench.metrics import percentile, score
from rag.bench.questions import Question, load_questions
from rag.bench.systems import (
    EngineSystem,
    Relevance,
    document_relevance,
    evidence_relevance,
    run_system,
)
from rag.config import Settings, StoreKind
from rag.engine import RagEngine
from rag.index.embeddings import make_embedder
from rag.index.local import CACHE_FILE

STORES: tuple[StoreKind, ...] = ("local", "milvus")
K = 5


@dataclass(frozen=True)
class StoreRow:
    corpus: str
    store: StoreKind
    chunks: int
    build_s: float
    embedded: int  # texts the build had to embed (0: all from the cache)
    recall_at_5: float | None
    answer_hit: float | None
    ask_p50_ms: float | None
    questions: int
    search_p50_ms: float | None = None  # the search alone, query vector memoised: the store


def run_store_bench(
    settings: Settings,
    questions: Path,
    cmrc: Path | None,
    root: Path,
    say: Callable[[str], object],
    limit: int | None = None,
    on_row: Callable[[list[StoreRow]], object] | None = None,
) -> list[StoreRow]:
    """Build and ask on every store; ``settings`` gives the embedder and the Milvus URI.

    ``limit`` asks only the first questions of each set (the whole corpus is still indexed);
    ``on_row`` sees the rows so far after each store, so a long run reports as it goes.
    """
    sets: list[tuple[str, list[Path], Sequence[Question], Relevance]] = [
        ("seeds", list(settings.corpus), load_questions(questions)[:limit], evidence_relevance)
    ]
    if cmrc is not None:
        data = load_cmrc(cmrc)
        corpus = write_corpus(data, root / "cmrc-corpus.jsonl")
        sets.append(("cmrc", [corpus], data.questions[:limit], document_relevance))
    embedder = make_embedder(settings.embedder)
    embedder.embed_query("预热")  # load the model outside every timing
    rows = []
    for name, corpus_paths, qs, relevant in sets:
        cache = root / name / "local" / CACHE_FILE
        for store in STORES:
            index_dir = root / name / store
            index_dir.mkdir(parents=True, exist_ok=True)
            if store != "local" and cache.exists():
                shutil.copy(cache, index_dir / CACHE_FILE)
            s = settings.model_copy(
                update={
                    "index_dir": index_dir,
                    "corpus": corpus_paths,
                    "store": store,
                    "milvus_collection": f"bench_{name}",
                    # Lite: one file per corpus; a server: one collection per corpus
                    "milvus_uri": settings.milvus_uri or str(index_dir / "milvus.db"),
                }
            )
            engine = RagEngine(s, embedder=embedder)
            say(f"{name}/{store}: building in {index_dir}")
            started = time.perf_counter()
            report = engine.build(corpus_paths, rebuild=True)
            build_s = time.perf_counter() - started
            system = EngineSystem("hybrid", engine, "hybrid", K)
            say(f"{name}/{store}: asking {len(qs)} questions")
            outcomes = run_system(system, qs, K, relevant)
            scores = score(outcomes)
            rows.append(
                StoreRow(
                    corpus=name,
                    store=store,
                    chunks=report.chunks,
                    build_s=build_s,
                    embedded=report.embedded,
                    recall_at_5=scores.recall.get(K),
                    answer_hit=scores.answer_hit,
                    ask_p50_ms=percentile([o.latency_ms for o in outcomes], 50),
                    questions=len(qs),
                    search_p50_ms=percentile(
                        [o.retrieval_ms for o in outcomes if o.retrieval_ms is not None], 50
                    ),
                )
            )
            engine.close()
            if on_row is not None:
                on_row(rows)
    return rows


def stores_report(rows: Sequence[StoreRow], command: str) -> str:
    """A Markdown table, one row per corpus and store, with the command that made it."""

    def num(value: float | None, digits: int) -> str:
        return "–" if value is None else f"{value:.{digits}f}"

    lines = [
        "# Stores side by side",
        "",
        f"Command: `{command}`",
        "",
        "| corpus | store | questions | chunks | build (s) | embedded | recall@5 | answer_hit "
        "| ask p50 (ms) | search p50 (ms) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.corpus} | {r.store} | {r.questions} | {r.chunks} | {r.build_s:.1f} | "
            f"{r.embedded} | {num(r.recall_at_5, 3)} | {num(r.answer_hit, 3)} | "
            f"{num(r.ask_p50_ms, 1)} | {num(r.search_p50_ms, 1)} |"
        )
    lines += [
        "",
        "Build times: the first store of a corpus fills the embedding cache (`embedded` > 0),",
        "the next one reads it, so its time is the store's writes alone. `ask p50` includes",
        "embedding the question (the same model on both stores); `search p50` is a second",
        "search of the same question with its vector memoised: the store's own cost.",
        "",
    ]
    return "\n".join(lines)
