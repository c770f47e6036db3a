"""`rag eval` end to end on a few questions, with the hash embedder (no timing assertions)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.answer.reader.model import abstain_threshold
from rag.bench import sweeps
from rag.cli import app
from tests.fakes import FakeLLM

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = {"bm25", "dense", "hybrid", "langchain"}


def _small_question_set(path: Path) -> Path:
    records = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").open()]
    picked = []
    for qtype, n in (("fact", 3), ("traditional", 1), ("english", 1), ("unanswerable", 2)):
        picked += [r for r in records if r["type"] == qtype][:n]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked))
    return path


def _small_cmrc(path: Path) -> Path:
    data = {
        "version": "v1.0",
        "data": [
            {
                "id": "A",
                "title": "长江",
                "paragraphs": [
                    {
                        "id": "A_1",
                        "context": "长江是中国第一长河，全长约6300公里。长江发源于青藏高原。",
                        "qas": [
                            {"id": "A_1_Q0", "question": "长江全长多少公里？",
                             "answers": [{"text": "约6300公里", "answer_start": 12}]},
                            {"id": "A_1_Q1", "question": "",
                             "answers": [{"text": "青藏高原", "answer_start": 24}]},
                        ],
                    }
                ],
            },
            {
                "id": "B",
                "title": "黄河",
                "paragraphs": [
                    {
                        "id": "B_1",
                        "context": "黄河是中国第二长河，被称为中华民族的母亲河。",
                        "qas": [
                            {"id": "B_1_Q0", "question": "哪条河被称为母亲河？",
                             "answers": [{"text": "黄河", "answer_start": 0}]},
                        ],
                    }
                ],
            },
        ],
    }  # fmt: skip
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def small_sweeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """One configuration per sweep, so the run exercises every sweep quickly."""
    monkeypatch.setattr(sweeps, "CHUNK_SIZES", (200,))
    monkeypatch.setattr(sweeps, "CHUNK_OVERLAPS", (1,))
    monkeypatch.setattr(sweeps, "CMRC_CHUNK_SIZES", (100,))
    monkeypatch.setattr(sweeps, "DENSE_WEIGHTS", (0.5,))
    monkeypatch.setattr(sweeps, "THRESHOLDS", (0.2, 0.9))


def test_eval_runs_every_system_and_writes_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_sweeps: None
) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "hash")
    monkeypatch.setenv("RAG_CORPUS", str(ROOT / "seeds"))
    questions = _small_question_set(tmp_path / "q.jsonl")
    cmrc = _small_cmrc(tmp_path / "cmrc.json")
    report = tmp_path / "out" / "REPORT.md"
    args = ["eval", "--questions", str(questions), "--index-dir", str(tmp_path / "idx")]
    args += ["--cmrc", str(cmrc), "--report", str(report), "--json", "--sweep", "--no-http"]
    args += ["--cli-runs", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    data = json.loads(result.stdout)
    assert data["questions"] == 7
    assert set(data["systems"]) == SYSTEMS
    for metrics in data["systems"].values():
        answerable = metrics["answerable"]
        typed = [t for t in metrics["by_type"].values() if t["answerable"]]
        for name in ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "answer_hit", "f1"):
            # Each figure is the mean over the answerable questions, so the whole set's value
            # is the per-type values weighted by their answerable questions (JSON: 4 decimals).
            weighted = sum(t["answerable"] * t[name] for t in typed) / answerable
            assert metrics[name] == pytest.approx(weighted, abs=1e-4), name
        for name in ("recall@1", "recall@5", "recall@10", "answer_hit"):
            hits = metrics[name] * answerable  # a count of questions
            assert hits == pytest.approx(round(hits), abs=1e-3), name
        assert 0.0 <= metrics["f1"] <= 1.0
        # With one relevant text and ranks up to k=10: 1/r <= 1/log2(r+1) <= 1 per question.
        assert metrics["recall@1"] <= metrics["mrr"] <= metrics["ndcg@10"] <= metrics["recall@10"]
        assert metrics["recall@1"] <= metrics["recall@5"] <= metrics["recall@10"]
        assert metrics["answerable"] == 5 and metrics["unanswerable"] == 2
        assert set(metrics["by_type"]) == {"fact", "traditional", "english", "unanswerable"}
    assert data["systems"]["langchain"]["abstention_accuracy"] == 0.0  # the peer never abstains

    assert data["cmrc"]["questions"] == 2
    assert data["cmrc"]["skipped"] == ["A_1_Q1 (empty question text)"]
    assert data["cmrc"]["systems"]["bm25"]["recall@10"] == 1.0  # two documents, both reachable

    indexing = data["speed"]["indexing"]
    assert indexing["unit"] == "characters" and indexing["texts"] > 0
    assert data["speed"]["http"] is None
    assert data["speed"]["search_ms"]["p50"] > 0  # one search per distinct question
    assert len(data["speed"]["cli_ask_seconds"]) == 1  # `rag ask` ran as a process, and passed
    sweep = data["sweeps"]
    configured = abstain_threshold(data["environment"]["settings"]["abstain_threshold"])
    assert [r["abstain_threshold"] for r in sweep["threshold"]] == sorted({0.2, 0.9, configured})
    assert "agree" in sweep["threshold_method"] or "re-run" in sweep["threshold_method"]
    assert len(sweep["chunking"]) == 1 and len(sweep["fusion"]) == 2  # rrf and weighted
    assert len(sweep["chunking_cmrc"]) == 1 and len(sweep["fusion_cmrc"]) == 2
    targets = {t["name"]: t for t in data["targets"]}
    assert set(targets) >= {
        "seeds recall@5 (all)",
        "CMRC containment (all)",
        "in-process search p50, ms",
    }
    assert targets["HTTP /ask p50 at concurrency 1, ms"]["met"] is None  # not measured here

    text = report.read_text(encoding="utf-8")
    assert "rag eval --questions" in text and "--sweep" in text
    assert "## Seed question set" in text and "## CMRC 2018 trial" in text
    for figure in ("report_seeds_recall.png", "report_latency.png", "report_cmrc_recall.png"):
        assert f"]({figure})" in text
        assert (report.parent / figure).stat().st_size > 1000


def test_eval_rejects_a_question_set_that_does_not_match_the_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "hash")
    monkeypatch.setenv("RAG_CORPUS", str(ROOT / "seeds"))
    bad = {"id": "X", "question": "?", "answers": ["无"], "evidence": "不存在的证据",
           "doc_id": "000_edf5affd2abe794d-01", "type": "fact"}  # fmt: skip
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")
    args = ["eval", "--questions", str(path), "--index-dir", str(tmp_path / "idx")]
    result = CliRunner().invoke(app, [*args, "--no-report", "--no-http"])
    assert result.exit_code == 1
    assert "evidence is not verbatim" in result.output


def _quote_first_source_and_invent_a_figure(prompt: str) -> str:
    """One sentence of source [1], verbatim and cited, then a figure that no source holds."""
    block = prompt.split("[1] ", 1)[1].split("\n\n", 1)[0]
    text = block.split("\n", 1)[1]
    first = re.split(r"(?<=[。！？])", text)[0].rstrip("。！？")
    return f"{first}[1]。另有98765家企业入驻[1]。"


def test_eval_asks_the_configured_llm_and_counts_what_verification_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLLM
) -> None:
    fake_llm.answer = _quote_first_source_and_invent_a_figure
    monkeypatch.setenv("RAG_EMBEDDER", "hash")
    monkeypatch.setenv("RAG_CORPUS", str(ROOT / "seeds"))
    monkeypatch.setenv("RAG_LLM_BASE_URL", fake_llm.url)
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "5")
    questions = _small_question_set(tmp_path / "q.jsonl")
    report = tmp_path / "REPORT.md"
    args = ["eval", "--questions", str(questions), "--index-dir", str(tmp_path / "idx")]
    args += ["--cli-runs", "0"]
    result = CliRunner().invoke(app, [*args, "--report", str(report), "--json", "--no-http"])
    assert result.exit_code == 0, result.output

    llm = json.loads(result.stdout)["systems"]["llm"]
    totals = llm["verification"]
    assert totals["answered"] == 7 and len(fake_llm.requests) == 7  # every question, once
    assert totals["kept"] == 7 and totals["dropped"] == 7  # the invented figure, each time
    assert "## LLM answers: verification" in report.read_text(encoding="utf-8")

    no_llm = CliRunner().invoke(app, [*args, "--no-report", "--json", "--no-http", "--no-llm"])
    assert "llm" not in json.loads(no_llm.stdout)["systems"]
