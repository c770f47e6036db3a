"""``rag bench-scale``: the local store at 10k, 100k and 1M chunks of synthetic Chinese text.

Documents are made of sentences drawn from the seed pages, each paragraph with an invented
name so the vocabulary keeps growing as a real corpus's does. Chunks and their tokens are
built directly (every distinct sentence is tokenised once). By default vectors are the hash
embedder's, summed per sentence: what is measured is the store, not jieba or the model. With
``--embedder e5-small`` every chunk is embedded by the model as an index build would (build
time includes it) and the queries are the model's query vectors of seed sentences.
Every figure comes from this run; start-up and memory are measured in a fresh process.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from rag.bench.environment import cpu_model
from rag.index.embeddings import Embedder, HashEmbedder
from rag.index.lexical import Postings, idf, score, top_scores
from rag.index.local import LIST_CACHE_BYTES, LocalStore
from rag.index.store import IndexedDocument, IndexParams
from rag.index.vectors import AnnParams
from rag.ingest.chunking import Chunk, ChunkParams
from rag.ingest.corpus import load_corpus
from rag.ingest.documents import Article, Paragraph, Piece
from rag.text.sentences import split_sentences
from rag.text.tokens import tokenize

CHUNKS_PER_DOC = 8
WRITE_BATCH = 5_000  # chunks per write while building, as a bulk import would do
NPROBE_SWEEP = (16, 32, 64, 128)
WARM_UP = 1000  # BM25 searches between the first and the timed ones, as a server has done  # lists searched, for the recall/latency table


@dataclass(frozen=True)
class Probe:
    """The approximate index at one ``nprobe``: recall against exact search, dense latency."""

    nprobe: int
    recall_at_10: float
    dense_p50_ms: float


@dataclass(frozen=True)
class ScaleRow:
    chunks: int
    build_s: float
    disk_mb: float
    startup_s: float
    rss_mb: float
    search_p50_ms: float
    search_p95_ms: float
    add_p50_ms: float
    delete_p50_ms: float
    dense: str
    recall_at_10: float | None
    embedder: str = "hash"
    probes: tuple[Probe, ...] = ()
    rss_warm_mb: float = 0.0  # after the searches, its posting-list cache filled
    first_p50_ms: float = 0.0  # the first searches after the build, no posting list cached
    bm25_exact: float = 1.0  # share of searches whose BM25 top 50 equals summing every list


class SyntheticCorpus:
    """Documents of seed sentences; tokens and vectors of each sentence computed once."""

    def __init__(self, seeds: Sequence[Path], seed: int = 0, model: Embedder | None = None) -> None:
        sentences: list[str] = []
        for article in load_corpus(list(seeds)):
            for p in article.paragraphs:
                sentences.extend(p.text[s:e] for s, e in split_sentences(p.text))
        self.sentences = [s for s in dict.fromkeys(sentences) if 8 <= len(s) <= 180]
        self.model = model  # None: hash vectors summed per sentence, no model call per chunk
        embedder = model or HashEmbedder()
        self.tokens = [tuple(tokenize(s)) for s in self.sentences]
        self.vectors = embedder.embed_passages(self.sentences)
        self.query_vectors = (
            np.stack([model.embed_query(s) for s in self.sentences]) if model else self.vectors
        )
        self.rng = random.Random(seed)
        self.dim = embedder.dim
        self.embedder = embedder.name

    def _name(self) -> str:
        return "".join(chr(self.rng.randrange(0x4E00, 0x9FA5)) for _ in range(3))

    def document(self, n: int) -> IndexedDocument:
        doc_id = f"synthetic-{n:07d}"
        title = f"{self._name()}{self.rng.choice(self.sentences)[:12]}"
        paragraphs, chunks, tokens, vectors = [], [], [], []
        pos = 0
        for index in range(1, CHUNKS_PER_DOC + 1):
            picks = [self.rng.randrange(len(self.sentences)) for _ in range(2)]
            name = self._name()
            text = name + "".join(self.sentences[i] for i in picks)
            paragraphs.append(Paragraph(doc_id, index, text, (Piece(0, pos, pos + len(text)),)))
            cid = hashlib.sha1(f"{doc_id}\x1f{index}\x1f{text}".encode()).hexdigest()[:16]
            chunk = Chunk(cid, doc_id, title, None, index, "body", text, 0, pos, pos + len(text))
            chunks.append(chunk)
            tokens.append((name, *(t for i in picks for t in self.tokens[i])))
            vec = self.vectors[picks].sum(axis=0)
            vectors.append(vec / (np.linalg.norm(vec) or 1.0))
            pos += len(text) + 1
        article = Article(doc_id, title, tuple(paragraphs), "synthetic")
        return IndexedDocument(article, tuple(chunks), tuple(tokens), np.stack(vectors))

    def embedded(self, docs: Sequence[IndexedDocument]) -> list[IndexedDocument]:
        """``docs`` with every chunk embedded by the model (one batch call), when there is one."""
        if self.model is None:
            return list(docs)
        texts = [c.text for d in docs for c in d.chunks]
        vectors = self.model.embed_passages(texts)
        out, start = [], 0
        for d in docs:
            stop = start + len(d.chunks)
            out.append(replace(d, vectors=vectors[start:stop]))
            start = stop
        return out

    def queries(self, count: int) -> list[tuple[tuple[str, ...], np.ndarray]]:
        picks = [self.rng.randrange(len(self.sentences)) for _ in range(count)]
        return [(self.tokens[i], self.query_vectors[i]) for i in picks]


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _p(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


TIMED = 200  # searches timed per size
BLOCK = 20  # timed searches in a row on one index before the next index's turn
REWARM = 10  # untimed searches that start each turn (the other processes ran in between)


class _Served:
    """A fresh process that opens a built index, as a server opening it meets it.

    Seconds to open the store and answer one search, and the RSS then; then 200 searches
    (the posting-list cache empty) and ``WARM_UP`` BM25 searches; it then waits and times
    the searches it is sent (a dense plus a BM25 query, top 50 each). A fresh process, not
    the one that built the index, whose memory holds the whole build's leftovers.
    """

    def __init__(
        self, index_dir: Path, params: IndexParams, ann: AnnParams, corpus: SyntheticCorpus
    ) -> None:
        self.payload = index_dir / "bench-queries.json"
        first, self.timed = corpus.queries(200), corpus.queries(TIMED)
        self.payload.write_text(
            json.dumps(
                {
                    "first": [[list(t), v.tolist()] for t, v in first],
                    "warm": [list(t) for t, _ in corpus.queries(WARM_UP)],
                    "timed": [[list(t), v.tolist()] for t, v in self.timed],
                },
                ensure_ascii=False,
            )
        )
        script = textwrap.dedent(
            f"""
            import json, sys, time, numpy as np, psutil
            started = time.perf_counter()
            from pathlib import Path
            from rag.index.local import LocalStore
            from rag.index.store import IndexParams
            from rag.index.vectors import AnnParams
            params = IndexParams.from_json(json.loads({json.dumps(json.dumps(params.to_json()))}))
            store = LocalStore.open(Path({str(index_dir)!r}), params, AnnParams(**{asdict(ann)!r}))
            q = np.ones({params.dim}, dtype=np.float32) / {params.dim} ** 0.5
            store.dense_search(q, 10); store.lexical_search(["企业", "发展"], 10)
            out = {{"startup_s": time.perf_counter() - started}}
            out["rss_mb"] = psutil.Process().memory_info().rss / 2**20
            from rag.bench.scale import serve_searches
            serve_searches(store, json.loads(Path({str(self.payload)!r}).read_text()), out)
            """
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.ready: dict[str, Any] = self._reply()  # start-up, RSS, the first searches

    def _reply(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=60)
            raise RuntimeError(f"the search process stopped (exit {self.process.returncode})")
        out: dict[str, Any] = json.loads(line)
        return out

    def _send(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._reply()

    def block(self, start: int, stop: int) -> tuple[list[float], list[list[int]]]:
        """Timed searches ``start`` to ``stop`` run back to back, after ``REWARM`` untimed
        ones: milliseconds of each, and its BM25 result as chunk keys."""
        out = self._send(f"{start} {stop}")
        return out["ms"], out["found"]

    def finish(self) -> float:
        """Stop the process; its RSS after the searches (MB)."""
        try:
            rss: float = self._send("done")["rss_warm_mb"]
            self.process.wait(timeout=60)
        finally:
            self.close()
        return rss

    def close(self) -> None:
        """Stop the process if it still runs; remove its queries file."""
        self.process.kill()
        self.payload.unlink(missing_ok=True)


def serve_searches(store: LocalStore, payload: dict[str, Any], out: dict[str, Any]) -> None:
    """The search phases of ``_Served``, run in its process: the first searches and the
    warm-up, then for each line read (``start stop``) ``REWARM`` untimed searches and the
    timed searches ``start`` to ``stop``, back to back, until ``done``."""

    def run(tokens: list[str], vector: list[float]) -> tuple[float, list[int]]:
        v = np.asarray(vector, dtype=np.float32)
        t0 = time.perf_counter()
        store.dense_search(v, 50)
        found = [r.order for r in store.lexical_search(tokens, 50)]
        return (time.perf_counter() - t0) * 1000, found

    first = payload["first"]
    out["first_ms"] = [run(t, v)[0] for t, v in first]
    for tokens in payload["warm"]:
        store.lexical_search(tokens, 50)
    print(json.dumps(out), flush=True)
    for line in sys.stdin:
        if line.strip() == "done":
            print(json.dumps({"rss_warm_mb": psutil.Process().memory_info().rss / 2**20}))
            return
        start, stop = map(int, line.split())
        for w in range(REWARM):
            run(*first[(start + w) % len(first)])
        timed = [run(*payload["timed"][q]) for q in range(start, stop)]
        print(json.dumps({"ms": [t for t, _ in timed], "found": [f for _, f in timed]}), flush=True)


def interleaved(served: Sequence[_Served]) -> list[tuple[list[float], list[list[int]]]]:
    """The timed searches of every process, ``BLOCK`` at a time on each in turn (the order of
    turns reversed every round), so that the machine's load changes fall on all sizes alike:
    per process, the milliseconds of each search and its BM25 results. A turn's searches run
    back to back in the process, as a busy server's do, after ``REWARM`` untimed ones: the
    turns before it evicted this process's data from the CPU caches."""
    times: list[list[float]] = [[] for _ in served]
    found: list[list[list[int]]] = [[] for _ in served]
    for start in range(0, TIMED, BLOCK):
        turns = list(range(len(served)))
        for i in turns if (start // BLOCK) % 2 == 0 else turns[::-1]:
            ms, keys = served[i].block(start, min(start + BLOCK, TIMED))
            times[i] += ms
            found[i] += keys
    return list(zip(times, found, strict=True))


def _exhaustive(store: LocalStore, tokens: Sequence[str], k: int) -> list[int]:
    """Chunk keys of the BM25 top ``k`` summing every posting of every term (no pruning)."""
    n, length = store._counters["chunks"], store._counters["length"]
    db = store._db()
    weights = Counter(tokens)
    terms = store._terms(db, list(weights), store._df.changes)
    rows = store._postings_after(db, {term_id: -1 for term_id, _ in terms.values()})
    parts = []
    for term, (term_id, df) in terms.items():
        postings = Postings.concat([p for _, p in rows.get(term_id, [])])
        keys, values = score(postings, idf(df, n), length / n, store.params.bm25)
        parts.append((keys, values * weights[term]))
    return [key for key, _ in top_scores(parts, k, exclude=store._dead_keys())]


def _exact(
    store: LocalStore, corpus: SyntheticCorpus, queries: int = 50
) -> list[tuple[np.ndarray, set[str]]]:
    """Query vectors with the chunk ids of their exact top 10 over every stored vector."""
    keys: list[str] = []
    mats: list[np.ndarray] = []
    cursor = store._db().execute("SELECT chunk_id, vector FROM chunks JOIN chunk_data USING (key)")
    for rows in iter(lambda: cursor.fetchmany(20_000), []):
        keys.extend(k for k, _ in rows)
        mats.append(np.frombuffer(b"".join(v for _, v in rows), np.float32).reshape(-1, corpus.dim))
    matrix = np.vstack(mats)
    return [
        (vector, {keys[i] for i in np.argsort(-(matrix @ vector))[:10]})
        for _, vector in corpus.queries(queries)
    ]


def _recall(store: LocalStore, exact: Sequence[tuple[np.ndarray, set[str]]]) -> float:
    """Overlap of the dense index's top 10 with the exact top 10."""
    found = sum(
        len(top & {r.chunk.chunk_id for r in store.dense_search(vector, 10)})
        for vector, top in exact
    )
    return found / (10 * len(exact))


@dataclass
class _Built:
    """An index built at one size, its search process started."""

    size: int
    index_dir: Path
    params: IndexParams
    build_s: float
    served: _Served


def _build(
    size: int, root: Path, corpus: SyntheticCorpus, ann: AnnParams, say: Callable[[str], None]
) -> _Built:
    index_dir = root / f"scale-{size}"
    shutil.rmtree(index_dir, ignore_errors=True)
    params = IndexParams(embedder=corpus.embedder, dim=corpus.dim, chunking=ChunkParams())
    store = LocalStore.create(index_dir, params, ann)
    docs = size // CHUNKS_PER_DOC
    started = time.perf_counter()
    batch: list[IndexedDocument] = []
    shown = 0  # tenths of the build reported so far
    for n in range(docs):
        batch.append(corpus.document(n))
        if len(batch) * CHUNKS_PER_DOC >= WRITE_BATCH or n == docs - 1:
            store.write(corpus.embedded(batch))
            batch = []
            if (n + 1) * 10 // docs > shown:
                shown = (n + 1) * 10 // docs
                elapsed = time.perf_counter() - started
                say(f"  {size:,}: {(n + 1) * CHUNKS_PER_DOC:,} chunks written ({elapsed:.0f} s)")
    store.compact()
    store.close()
    os.sync()  # the FAISS file is written without fsync: flushed here, not during the searches
    build = time.perf_counter() - started
    say(f"  {size:,}: built in {build:.0f} s; opened by a fresh process")
    return _Built(size, index_dir, params, build, _Served(index_dir, params, ann, corpus))


def _finish(
    built: _Built,
    timed: tuple[list[float], list[list[int]]],
    corpus: SyntheticCorpus,
    ann: AnnParams,
) -> ScaleRow:
    """The row of an index whose timed searches are done: then its writes and recall."""
    served, (searches, found) = built.served, timed
    rss_warm = served.finish()
    store = LocalStore.open(built.index_dir, built.params, ann)
    same = sum(  # BM25 results against summing every list, checked after the timing
        keys == _exhaustive(store, tokens, 50)
        for keys, (tokens, _) in zip(found, served.timed, strict=True)
    )
    docs = built.size // CHUNKS_PER_DOC
    adds, deletes = [], []
    for i in range(20):
        (doc,) = corpus.embedded([corpus.document(docs + i)])
        t0 = time.perf_counter()
        store.write([doc])
        adds.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        store.write([], [doc.article.doc_id])
        deletes.append((time.perf_counter() - t0) * 1000)
    vectors = store._vectors
    approximate = vectors is not None and vectors.approximate
    exact = _exact(store, corpus) if approximate else []
    recall = _recall(store, exact) if approximate else None
    probes = _probes(store, corpus, exact) if approximate else ()
    store.close()
    return ScaleRow(
        chunks=docs * CHUNKS_PER_DOC,
        build_s=round(built.build_s, 1),
        disk_mb=round(_dir_mb(built.index_dir), 1),
        startup_s=round(served.ready["startup_s"], 2),
        rss_mb=round(served.ready["rss_mb"], 0),
        search_p50_ms=round(statistics.median(searches), 2),
        search_p95_ms=round(_p(searches, 0.95), 2),
        add_p50_ms=round(statistics.median(adds), 1),
        delete_p50_ms=round(statistics.median(deletes), 1),
        dense="IVF-SQ8" if approximate else "exact",
        recall_at_10=None if recall is None else round(recall, 3),
        embedder=corpus.embedder,
        probes=probes,
        rss_warm_mb=round(rss_warm, 0),
        first_p50_ms=round(statistics.median(served.ready["first_ms"]), 2),
        bm25_exact=round(same / len(searches), 3),
    )


def measure_sizes(
    sizes: Sequence[int],
    root: Path,
    corpus: SyntheticCorpus,
    ann: AnnParams,
    say: Callable[[str], None],
) -> list[ScaleRow]:
    """Every size built and opened by a search process; then the timed searches of all
    processes interleaved; then each size's writes and recall."""
    built: list[_Built] = []
    try:
        for size in sizes:
            built.append(_build(size, root, corpus, ann, say))
        say(f"  timed searches: {TIMED} per size, {BLOCK} at a time on each in turn")
        timed = interleaved([b.served for b in built])
        return [_finish(b, t, corpus, ann) for b, t in zip(built, timed, strict=True)]
    finally:
        for b in built:
            b.served.close()


def measure(
    size: int, root: Path, corpus: SyntheticCorpus, ann: AnnParams, say: Callable[[str], None]
) -> ScaleRow:
    (row,) = measure_sizes([size], root, corpus, ann, say)
    return row


def run_scale(
    sizes: Sequence[int],
    root: Path,
    seeds: Sequence[Path],
    say: Callable[[str], None],
    model: Embedder | None = None,
) -> list[ScaleRow]:
    corpus = SyntheticCorpus(seeds, model=model)
    say(f"{len(corpus.sentences)} distinct seed sentences; sizes {', '.join(map(str, sizes))}")
    return measure_sizes(sizes, root, corpus, AnnParams(), say)


def _probes(
    store: LocalStore, corpus: SyntheticCorpus, exact: Sequence[tuple[np.ndarray, set[str]]]
) -> tuple[Probe, ...]:
    """Recall and dense search latency at each ``nprobe`` of the sweep (default restored)."""
    vectors = store._vectors
    assert vectors is not None and vectors.nprobe is not None
    default, out = vectors.nprobe, []
    for nprobe in NPROBE_SWEEP:
        vectors.nprobe = nprobe
        times = []
        for _, vector in corpus.queries(200):
            t0 = time.perf_counter()
            store.dense_search(vector, 50)
            times.append((time.perf_counter() - t0) * 1000)
        out.append(
            Probe(nprobe, round(_recall(store, exact), 3), round(statistics.median(times), 2))
        )
    vectors.nprobe = default
    return tuple(out)


def _probe_table(rows: Sequence[ScaleRow]) -> str:
    swept = [r for r in rows if r.probes]
    if not swept:
        return ""
    head = "| chunks | vectors | " + " | ".join(f"nprobe {n}" for n in NPROBE_SWEEP) + " |\n"
    head += "|---:|---|" + "---:|" * len(NPROBE_SWEEP) + "\n"
    lines = [
        f"| {r.chunks:,} | {r.embedder} | "
        + " | ".join(f"{p.recall_at_10} ({p.dense_p50_ms} ms)" for p in r.probes)
        + " |"
        for r in swept
    ]
    return (
        "\nThe approximate index searched with more or fewer of its lists (`nprobe`; the default "
        f"is {AnnParams().nprobe}): recall@10 against exact search (50 queries) and, in brackets, "
        "the p50 of one dense store query (top 50, chunks fetched).\n\n"
        + head
        + "\n".join(lines)
        + "\n"
    )


def scale_report(rows: Sequence[ScaleRow], command: str) -> str:
    head = (
        "| chunks | vectors | build s | disk MB | start-up s | RSS MB | RSS warm MB "
        "| first searches p50 ms | search p50 ms | × smallest | p95 ms | add p50 ms "
        "| delete p50 ms | dense index | recall@10 | BM25 exact |\n"
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n"
    )
    base = min(rows, key=lambda r: r.chunks).search_p50_ms if rows else 0.0
    lines = [
        f"| {r.chunks:,} | {r.embedder} | {r.build_s} | {r.disk_mb} | {r.startup_s} | {r.rss_mb:.0f} "
        f"| {r.rss_warm_mb:.0f} | {r.first_p50_ms} | {r.search_p50_ms} "
        f"| {r.search_p50_ms / (base or 1):.2f} "
        f"| {r.search_p95_ms} | {r.add_p50_ms} | {r.delete_p50_ms} "
        f"| {r.dense} | {'' if r.recall_at_10 is None else r.recall_at_10} | {r.bm25_exact} |"
        for r in rows
    ]
    return (
        "# Scale benchmark of the local store\n\n"
        f"Produced by `{command}` on {os.cpu_count()} cores ({cpu_model()}); synthetic documents of seed sentences, "
        "8 chunks per document; vectors: hash-embedder vectors summed per sentence, or every chunk "
        "embedded by the named model (its build time includes embedding). Start-up, RSS and "
        "searches are measured in a fresh process that opens the built index, as a server "
        "would: start-up is opening it and answering one search, RSS then (it includes the FAISS "
        "index, loaded, not memory-mapped). A search is one dense (top 50) plus one BM25 (top 50) "
        "store query, the work a `/search` does besides embedding the question: 200 right after "
        "start-up (first searches: each long posting list is read and decoded on first use), "
        f"then {WARM_UP:,} BM25 searches; once every size is built and so opened, {TIMED} "
        f"searches timed per size, {BLOCK} at a time on each size's process in turn (the order "
        "of turns reversed every round), so that the machine's load falls on every size alike, "
        f"each turn's searches back to back after {REWARM} untimed ones (the other processes' "
        "turns evicted its data from the CPU caches) (search p50, × smallest size, p95); RSS "
        "warm after them "
        "(the posting-list cache is "
        "bounded at "
        f"{LIST_CACHE_BYTES // 2**20} MB). BM25 exact: the share of the timed searches whose "
        "top 50 equals summing every posting of every term (the search prunes long lists; it "
        "must not change results). Add and delete are one document of 8 chunks, committed "
        "(fsync) each time. recall@10 is the overlap of the dense index's top 10 with exact "
        "search over every stored vector (50 queries).\n\n"
        + head
        + "\n".join(lines)
        + "\n"
        + _probe_table(rows)
    )
