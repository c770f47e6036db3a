"""Normalisation: width, script and whitespace, and the fast path past opencc."""

from __future__ import annotations

import json

import pytest
from opencc import OpenCC

from rag.text.normalize import half_width, normalize, to_simplified
from tests.conftest import ROOT, SEEDS


def test_full_width_ascii_and_ideographic_space_become_half_width() -> None:
    assert half_width("ＡＢＣ１２３！（）\u3000x") == "ABC123!() x"


def test_normalize_folds_width_script_and_whitespace() -> None:
    assert normalize("  光谷瞪羚企業\n累計達到 １６９０家 ") == "光谷瞪羚企业 累计达到 1690家"


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("蘭州高新區", "兰州高新区"),
        ("這些企業來自哪裡？", "这些企业来自哪里？"),
        # Phrase entries whose characters alone would not change: the fast path must not
        # skip them.
        ("一目瞭然", "一目了然"),
        ("反覆思量", "反复思量"),
        ("沈默", "沉默"),
    ],
)
def test_traditional_to_simplified(traditional: str, simplified: str) -> None:
    assert to_simplified(traditional) == simplified


def test_fast_path_agrees_with_opencc_on_every_seed_line_and_question() -> None:
    reference = OpenCC("t2s")
    lines = [
        line
        for page in sorted(SEEDS.glob("*.txt"))
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    with (ROOT / "eval" / "questions.jsonl").open(encoding="utf-8") as f:
        lines += [json.loads(row)["question"] for row in f if row.strip()]
    assert len(lines) > 300
    for line in lines:
        assert to_simplified(line) == reference.convert(line), line


def test_a_long_text_converted_piece_by_piece_reads_as_opencc_converts_it_whole() -> None:
    text = (
        "這個園區於去年開發完成，吸引了數十家企業進駐；「一目瞭然」的規劃、乾淨的街道（以及"
        "著名的夜市）讓遊客讚嘆不已！他們說：「這裡的發展，真是令人驚嘆……」 後來呢？"
    )
    assert len(text) > 24  # long enough to be converted in pieces
    assert to_simplified(text) == OpenCC("t2s").convert(text)
    assert to_simplified("已经是简体的句子，没有要改的字。") == "已经是简体的句子，没有要改的字。"
