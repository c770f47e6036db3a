"""Units of measure, defined once in ``data/units.tsv``: what each measures, which a question names.

The reader tags "320家" as a number in 家, the question analyser reads "多少家" as asking for
家, and the LLM verifier compares "1.2亿元" with "12000万元" by value: all three read the
units from here.
"""

from __future__ import annotations

from importlib import resources


def _load() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    classes: dict[str, list[str]] = {}
    asked: list[str] = []
    text = resources.files("rag.text").joinpath("data/units.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        unit, measures, *flags = line.split("\t")
        classes.setdefault(measures, []).append(unit)
        if "asked" in flags:
            asked.append(unit)
    return {c: tuple(us) for c, us in classes.items()}, tuple(asked)


# What each unit measures; a question asking "多少亿元" accepts any unit of money.
UNIT_CLASSES, ASKED_UNITS = _load()
# Every unit, longest first, so that a regex alternation or a substring search takes "万元"
# before "元".
UNITS = sorted((u for units in UNIT_CLASSES.values() for u in units), key=len, reverse=True)
_CLASS_OF = {u: c for c, units in UNIT_CLASSES.items() for u in units}
# The measure words (量词) a "几…" question counts with: "几家", "几个", "几名".
COUNTERS = "个家项名位人次倍座所条台套种批款辆棵艘架枚颗张本匹只"


def unit_class(unit: str | None) -> str | None:
    """What a unit measures ("亿元" and "万元" are both money); unknown units are their own class."""
    if unit is None:
        return None
    return _CLASS_OF.get(unit, unit)


def english_units() -> tuple[dict[str, str], dict[str, str]]:
    """``(count stems, measure words)`` from ``data/units_en.tsv``, each mapped to a unit."""
    counts: dict[str, str] = {}
    measures: dict[str, str] = {}
    text = resources.files("rag.text").joinpath("data/units_en.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        stem, unit, kind = line.split("\t")
        (measures if kind == "measure" else counts)[stem] = unit
    return counts, measures
