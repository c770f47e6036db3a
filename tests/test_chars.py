"""Character and unit knowledge is defined once (rag.text.chars, rag/text/data/units.tsv)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.text.chars import (
    CLAUSE_END,
    CLOSER_OF,
    OPENERS,
    SENTENCE_END,
    char_class,
    has_han,
    is_han,
)
from rag.text.units import ASKED_UNITS, UNIT_CLASSES, UNITS, unit_class
from tests.conftest import ROOT

PACKAGE = ROOT / "rag"
DEFINITIONS = {PACKAGE / "text" / "chars.py"}

# What a second copy of a set looks like in source: the Han block's range, or three or more
# of the sentence-end marks together (in any order) inside a string.
_COPIES = [
    re.compile(r"\\u4e00|\\u9fff|[\u4e00]-[\u9fff]"),
    re.compile(r"[。！？!?；;]{3,}"),
]


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p not in DEFINITIONS)


@pytest.mark.parametrize("pattern", _COPIES, ids=["han-range", "sentence-end"])
def test_no_module_keeps_its_own_copy_of_a_character_set(pattern: re.Pattern[str]) -> None:
    copies = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _sources()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line.split("#", 1)[0])
    ]
    assert copies == []


def test_han_classes() -> None:
    assert is_han("光") and not is_han("a") and not is_han("。")
    assert has_han("光谷 Optics Valley") and not has_han("Optics Valley 2023")
    assert re.fullmatch(char_class(SENTENCE_END), "；")
    assert not re.search(char_class(CLAUSE_END, negate=True), "，,、；;：:")


def test_char_class_escapes_what_regexes_treat_specially() -> None:
    cls = char_class("-]^\\", "a")
    assert all(re.fullmatch(cls, c) for c in "-]^\\a")
    assert not re.fullmatch(cls, "b")


def test_every_opener_with_a_distinct_closer_knows_it() -> None:
    assert set(CLOSER_OF) <= set(OPENERS)
    assert CLOSER_OF["《"] == "》"


def test_units_load_from_the_data_file() -> None:
    assert unit_class("亿元") == unit_class("万元") == "money"
    assert unit_class("家") == "enterprise"
    assert unit_class("秒差距") == "秒差距"  # unknown units are their own class
    assert len(UNITS) == len(set(UNITS)) == sum(len(us) for us in UNIT_CLASSES.values())
    assert [len(u) for u in UNITS] == sorted((len(u) for u in UNITS), reverse=True)
    assert set(ASKED_UNITS) <= set(UNITS)
    assert "家" in ASKED_UNITS and "米" not in ASKED_UNITS
