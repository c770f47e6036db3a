"""The systems under test behind one protocol: the engine in its three retrieval modes.

Each system answers a question with the texts it retrieved (best first) and its answer;
the runner judges relevance and correctness, so every system is scored the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rag.answer.types import AnswerMode
from rag.bench.metrics import Outcome, first_relevant
from rag.bench.questions import Question
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import Embedder
from rag.index.local import LocalStore
from rag.ingest.chunking import ChunkParams, chunk_articles, embedding_text
from rag.ingest.documents import Article
from rag.search.retrieval import Mode


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved text as the system returns it to the answer step."""

    doc_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Response:
    passages: tuple[Passage, ...]
    answer: str
    answered: bool
    latency_ms: float  # question in, answer out
    support: float | None = None
    retrieval_ms: float | None = None  # the search alone, query vector already computed
    details: Mapping[str, Any] = field(default_factory=dict)  # the answerer's diagnostics


@dataclass(frozen=True)
class BuildStats:
    """How long building a system's index took; ``embedded`` texts went through the model."""

    seconds: float
    chunks: int
    embedded: int
    embed_seconds: float | None = None

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0


class System(Protocol):
    name: str

    def respond(self, question: str, k: int) -> Response: ...


Relevance = Callable[[Question, Passage], bool]


def evidence_relevance(question: Question, passage: Passage) -> bool:
    """Seed questions: the retrieved text contains the evidence string."""
    return bool(question.evidence) and question.evidence in passage.text


def document_relevance(question: Question, passage: Passage) -> bool:
    """CMRC questions: the retrieved text comes from the gold context."""
    return passage.doc_id == question.doc_id


def run_system(
    system: System,
    questions: Sequence[Question],
    k: int,
    relevant: Relevance,
    progress: Callable[[int], object] | None = None,
) -> list[Outcome]:
    outcomes = []
    for q in questions:
        r = system.respond(q.question, k)
        rank = first_relevant(relevant(q, p) for p in r.passages[:k])
        outcomes.append(
            Outcome(
                q, rank, r.answer, r.answered, r.latency_ms, r.support, r.retrieval_ms, r.details
            )
        )
        if progress:
            progress(1)
    return outcomes


class EngineSystem:
    """The shipped engine with one retrieval mode and one answerer (extractive, or the LLM).

    The timed call is :meth:`RagEngine.ask` (retrieve ``answer_k`` paragraphs and answer);
    the ``k`` texts scored for retrieval come from a second, untimed search whose query
    vector is already memoised, so it costs no model call.
    """

    def __init__(
        self,
        name: str,
        engine: RagEngine,
        mode: Mode,
        answer_k: int = 5,
        answer_mode: AnswerMode = "extractive",
    ) -> None:
        self.name = name
        self.engine = engine
        self.mode = mode
        self.answer_k = answer_k
        self.answer_mode: AnswerMode = answer_mode

    def respond(self, question: str, k: int) -> Response:
        started = time.perf_counter()
        answer = self.engine.ask(
            question, self.answer_k, retrieval=self.mode, mode=self.answer_mode
        )
        latency_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        passages = self.retrieve(question, k)
        retrieval_ms = (time.perf_counter() - started) * 1000
        return Response(
            passages,
            answer.answer,
            answer.answered,
            latency_ms,
            answer.support,
            retrieval_ms,
            answer.details,
        )

    def retrieve(self, question: str, k: int) -> tuple[Passage, ...]:
        """The top ``k`` paragraphs, each as its full text (what the answerer reads)."""
        store = self.engine.store
        hits = self.engine.search(question, k, self.mode).hits
        passages = []
        for h in hits:
            article = store.article(h.chunk.doc_id)
            if article is not None:
                passages.append(Passage(h.chunk.doc_id, article.paragraph(h.chunk.paragraph).text))
        return tuple(passages)


def build_engine(
    settings: Settings,
    corpus: Sequence[Path],
    embedder: Embedder | None = None,
    cold: bool = False,
) -> tuple[RagEngine, BuildStats]:
    """Build the index for ``settings`` and time it (model loading excluded).

    ``cold`` empties the index directory first, embedding cache included, so the time
    covers embedding every chunk — the number to compare with a peer that has no cache.
    """
    if cold:
        clear_index(Path(settings.index_dir))
    engine = RagEngine(settings, embedder=embedder)
    load_model(engine.embedder)  # outside the timed build
    started = time.perf_counter()
    report = engine.build(corpus, rebuild=True)
    seconds = time.perf_counter() - started
    return engine, BuildStats(seconds, report.chunks, report.embedded, report.embed_seconds)


def load_model(embedder: Embedder) -> None:
    """Load ``embedder`` whole: both graphs of a backend that keeps one for queries and one
    for passages (a query alone opens only the first), or else through one query."""
    prepare = getattr(embedder, "prepare", None)
    if prepare is not None:
        prepare()
    embedder.embed_query("预热")


def clear_index(index_dir: Path) -> None:
    """Remove an index and its embedding cache, and nothing else in the directory."""
    if not index_dir.is_dir():
        return
    LocalStore.remove_files(index_dir)
    for path in index_dir.iterdir():
        if path.name.startswith(("embeddings.sqlite", ".lock")):
            path.unlink()


def planned_texts(articles: Sequence[Article], settings: Settings) -> list[str]:
    """The distinct texts a build with ``settings`` will embed, known before it runs."""
    params = ChunkParams(size=settings.chunk_size, overlap=settings.chunk_overlap)
    return list(dict.fromkeys(embedding_text(c) for c in chunk_articles(articles, params)))


def embedded_texts(engine: RagEngine) -> list[str]:
    """The distinct texts the index embeds, in index order: what the raw embedder is timed on."""
    return list(dict.fromkeys(embedding_text(c) for c in engine.store.iter_chunks()))
