"""Out-of-fold answers: per-set summaries and paired comparisons of two runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.bench.oof_answers import Outcome, compare, main, read, summary, write


def _run(hits: list[bool], refusals: list[bool]) -> dict[str, Outcome]:
    out = {
        f"cmrc:q{i}": Outcome("cmrc", True, True, hit, 1.0 if hit else 0.0, hit)
        for i, hit in enumerate(hits)
    }
    out |= {
        f"near:n{i}": Outcome("near", False, not refused, False, 0.0, False)
        for i, refused in enumerate(refusals)
    }
    return out


def test_summary_gives_each_set_and_all() -> None:
    lines = summary(_run([True, False, True, True], [True, False]))
    assert lines[0].startswith("out of fold (train) cmrc (n=4): answer_hit 0.750")
    assert "abstention 0.500" in lines[1] and lines[2].startswith("out of fold (train) all (n=6)")


def test_compare_counts_questions_won_and_lost(tmp_path: Path) -> None:
    before = _run([True, False, False, False, False, False, False, False], [False] * 3)
    after = _run([False, True, True, True, True, True, True, True], [True] * 3)
    write(before, tmp_path / "a.json")
    lines = compare(read(tmp_path / "a.json"), after)
    hit = next(line for line in lines if line.startswith("cmrc answer_hit"))
    assert hit == "cmrc answer_hit: 0.125 -> 0.875 (only after 7, only before 1, p = 0.070)"
    refused = next(line for line in lines if line.startswith("near abstention"))
    assert "0.000 -> 1.000 (only after 3, only before 0" in refused


def test_comparing_a_file_that_is_not_one_says_so_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    write(_run([True], [False]), good)
    bad = tmp_path / "bad.json"
    bad.write_text('{"cmrc:q0": {"answered": true}}', encoding="utf-8")
    for other in (bad, tmp_path / "missing.json"):
        with pytest.raises(SystemExit) as exc:
            main([str(good), str(other)])
        assert str(exc.value).startswith(f"error: {other}: not a file of out-of-fold answers")
