"""The rag command in-process: output shapes, first-run build, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import get_settings
from tests.conftest import SEEDS

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    index_dir = tmp_path / "index"
    monkeypatch.setenv("RAG_EMBEDDER", "hash")
    monkeypatch.setenv("RAG_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("RAG_CORPUS", str(SEEDS))
    get_settings.cache_clear()
    return index_dir


def test_ask_builds_the_index_on_first_run_then_answers(env: Path) -> None:
    result = runner.invoke(app, ["ask", "兰州高新区目前集聚了多少家生物医药企业？"])
    assert result.exit_code == 0, result.output
    assert "200多家" in result.stdout
    assert "[1] 兰州高新区为生物医药产业注入向“新”力 · 第1段" in result.stdout
    assert (env / "store.sqlite").exists()


def test_ask_json_is_the_api_object(env: Path) -> None:
    runner.invoke(app, ["index"])
    result = runner.invoke(app, ["ask", "光谷瞪羚企业累计达到多少家？", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "answer", "answered", "mode", "citations", "took_ms"}
    assert data["mode"] == "extractive" and data["answered"] is True
    citation = data["citations"][0]
    assert set(citation) == {
        "id",
        "doc_id",
        "title",
        "paragraph",
        "text",
        "quote",
        "start",
        "end",
        "score",
        "section",
        "page",
    }
    assert citation["quote"] in citation["text"]
    source = (SEEDS / (citation["doc_id"].rsplit("-", 1)[0] + ".txt")).read_text(encoding="utf-8")
    assert source[citation["start"] : citation["end"]] == citation["quote"]


def test_search_json_shape(env: Path) -> None:
    runner.invoke(app, ["index"])
    result = runner.invoke(app, ["search", "瞪羚企业", "-k", "3", "--json"])
    data = json.loads(result.stdout)
    assert data["query"] == "瞪羚企业" and len(data["results"]) == 3
    assert set(data["results"][0]) == {
        "chunk_id",
        "doc_id",
        "title",
        "paragraph",
        "text",
        "score",
        "start",
        "end",
    }


def test_index_reports_cache_reuse(env: Path) -> None:
    first = runner.invoke(app, ["index"])
    assert first.exit_code == 0 and "from cache" in first.stdout
    second = runner.invoke(app, ["index"])
    assert " 0 chunks embedded" in second.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "question is empty"),
        (["search", ""], "query is empty"),
        (["index", "--corpus", "/no/such/dir"], "corpus path not found"),
        (["search", "x", "--mode", "magic"], "unknown mode"),
    ],
)
def test_errors_are_one_line_without_traceback(env: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_corrupt_index_is_reported_and_left_alone(env: Path) -> None:
    runner.invoke(app, ["index"])
    (env / "store.sqlite").write_bytes(b"{broken" * 1000)
    result = runner.invoke(app, ["ask", "光谷瞪羚企业有多少家？"])
    assert result.exit_code == 1
    assert "unreadable" in result.output and "Traceback" not in result.output
    assert (env / "store.sqlite").read_bytes() == b"{broken" * 1000


def test_non_utf8_corpus_file(env: Path, tmp_path: Path) -> None:
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("中文内容".encode("gbk"))
    result = runner.invoke(app, ["index", "--corpus", str(bad)])
    assert result.exit_code == 1
    assert "not UTF-8" in result.output and "gbk.txt" in result.output


@pytest.mark.parametrize("command", ["eval", "fit-reader"])
def test_benchmark_commands_name_the_missing_extra(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.bench

    monkeypatch.setattr(rag.bench, "missing_extra", lambda: "sklearn")
    result = runner.invoke(app, [command])
    assert result.exit_code != 0
    assert f"rag {command} needs the benchmark extra (sklearn is not installed)" in result.output


def test_fit_reader_refuses_an_output_path_in_a_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "outcomes.json"
    result = runner.invoke(app, ["fit-reader", "--oof-answers", str(target)])
    assert result.exit_code == 1
    assert f"error: {target}: its directory {target.parent} does not exist" in result.output


def test_delete_takes_the_path_a_file_was_added_from(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.invoke(app, ["index"])
    monkeypatch.chdir(tmp_path)
    Path("港口.txt").write_text(
        "青澜港四期工程\n\n青澜港四期工程预计总投资72亿元。\n", encoding="utf-8"
    )
    added = runner.invoke(app, ["add", "港口.txt"])
    assert added.exit_code == 0, added.output
    doc_id = added.stdout.rsplit(": ", 1)[1].strip()
    assert doc_id != "港口.txt"  # the id is not the file name, yet the path finds it

    gone = runner.invoke(app, ["delete", str(tmp_path / "港口.txt")])  # another spelling
    assert gone.exit_code == 0, gone.output
    assert gone.stdout.strip() == f"deleted 1 documents: {doc_id}"
    again = runner.invoke(app, ["delete", "港口.txt"])
    assert again.exit_code == 1 and "no document with id '港口.txt'" in again.output

    runner.invoke(app, ["add", "港口.txt"])
    by_id = runner.invoke(app, ["delete", doc_id])
    assert by_id.exit_code == 0 and by_id.stdout.strip() == f"deleted 1 documents: {doc_id}"
