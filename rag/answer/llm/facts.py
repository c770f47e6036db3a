"""The checkable facts of a sentence — numbers (with units) and names — and whether a text holds them.

A generated sentence can paraphrase freely, but its numbers, dates and names must be the
source's. Numbers are compared by value, so "1,690", "1690", "１６９０" and "一千六百九十"
match, as do "1.2亿元" and "12000万元"; names are compared as written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rag.answer.reader.answer_spans import org_spans, person_spans, place_spans
from rag.text.chars import (
    DECIMAL,
    HAN_DIGIT_VALUES,
    HAN_LARGE_UNITS,
    HAN_NUMERAL,
    HAN_SMALL_UNIT_VALUES,
    HAN_ZEROS,
    MULTIPLIER_VALUES,
)
from rag.text.normalize import normalize
from rag.text.tokens import tokenize
from rag.text.units import UNITS

FactKind = Literal["number", "person", "org", "place"]

# With thousands separators ("1,690") or without.
_ARABIC = rf"\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|{DECIMAL}"
_HAN = f"[{HAN_NUMERAL}]+"
# A multiplier directly after digits; 千/百 only when they do not start a unit (千米, 百分点).
_NOT_A_UNIT = {"千": "(?![米克瓦元])", "百": "(?!分)"}
_MULT = "|".join(m + _NOT_A_UNIT.get(m, "") for m in MULTIPLIER_VALUES)
_EN_MULT = r"\s?(?:trillion|billion|million|thousand)\b"
_UNIT = "|".join(re.escape(u) for u in UNITS if u[0] not in HAN_LARGE_UNITS)
NUMBER = re.compile(
    rf"(?P<ord>第)?(?:百分之(?P<pct>{_ARABIC}|{_HAN})"
    rf"|(?P<arabic>{_ARABIC})(?P<mult>{_MULT}|{_EN_MULT})?|(?P<han>{_HAN}))"
    rf"\s?(?P<unit>{_UNIT}|percent\b|per cent\b)?",
    re.IGNORECASE,
)
_SCALE = MULTIPLIER_VALUES | {"trillion": 1e12, "billion": 1e9, "million": 1e6, "thousand": 1e3}
# Units that name the same thing; any other difference in unit is a different claim.
_SAME_UNIT = {"％": "%", "percent": "%", "per cent": "%", "名": "人", "位": "人", "千米": "公里"}
_SAME_UNIT |= {"平方千米": "平方公里", "千克": "公斤"}
_CLAUSE_BREAK = re.compile(r"[\d.,%]+|其中|[的为是在了]")


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    unit: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Fact:
    """Something a sentence asserts that a source must contain, as it reads in the sentence."""

    kind: FactKind
    text: str
    number: Number | None = None


def han_value(text: str) -> float | None:
    """The value of a Chinese numeral ("一千六百九十" -> 1690); ``None`` if it is not one."""
    total = wan = section = 0.0
    digit: int | None = None
    for ch in text:
        if ch in HAN_ZEROS:
            continue  # a placeholder, as in 一百零五
        if ch in HAN_DIGIT_VALUES:
            if digit is not None:
                return None  # two digits in a row ("十四五") is a name, not a number
            digit = HAN_DIGIT_VALUES[ch]
        elif ch in HAN_SMALL_UNIT_VALUES:
            section += (1 if digit is None else digit) * HAN_SMALL_UNIT_VALUES[ch]
            digit = None
        elif ch == "万":
            wan = (section + (digit or 0) or 1) * 1e4
            section, digit = 0.0, None
        elif ch == "亿":
            total = (total + wan + section + (digit or 0) or 1) * 1e8
            wan = section = 0.0
            digit = None
    return total + wan + section + (digit or 0)


def numbers(text: str, claim: bool = False) -> list[Number]:
    """Numbers in ``text`` by value and unit.

    With ``claim`` (a generated sentence), Chinese numerals count only when they clearly state
    a quantity ("三年", "二十家", "一千六百九十"): ordinals and idioms ("第一", "一个",
    "千方百计", "十分") are not claims a source could be expected to hold.
    """
    norm = normalize(text)
    out = []
    for m in NUMBER.finditer(norm):
        unit = _unit(m.group("unit"))
        if m.group("pct") is not None:
            raw = m.group("pct")
            value = _arabic(raw) if raw[0].isdigit() else han_value(raw)
            unit = "%"
        elif m.group("arabic") is not None:
            value = _arabic(m.group("arabic"))
            mult = (m.group("mult") or "").strip().lower()
            value *= _SCALE.get(mult, 1.0)
        else:
            han = m.group("han")
            value = han_value(han)
            if claim and (m.group("ord") or not _states_quantity(han, value, unit)):
                continue
        if value is None or (m.group("ord") and claim):
            continue
        out.append(Number(value, unit, m.group(0).removeprefix("第").strip()))
    return out


def _arabic(text: str) -> float:
    return float(text.replace(",", ""))


def _unit(unit: str | None) -> str | None:
    if unit is None:
        return None
    unit = unit.lower()
    return _SAME_UNIT.get(unit, unit)


def _states_quantity(han: str, value: float | None, unit: str | None) -> bool:
    if value is None or han in ("百", "千", "万", "亿"):  # idioms: 千方百计, 万人空巷
        return False
    if unit is not None:
        return value >= 2  # "两家", "三年"; "一个" is an article, not a count
    return value >= 10 and len(han) >= 2


def same_number(a: Number, b: Number) -> bool:
    """Equal values and compatible units (a missing unit matches any)."""
    units_ok = a.unit is None or b.unit is None or a.unit == b.unit
    return units_ok and math.isclose(a.value, b.value, rel_tol=1e-9)


def facts(sentence: str) -> list[Fact]:
    """The numbers and names a generated sentence asserts."""
    out = [Fact("number", n.text, n) for n in numbers(sentence, claim=True)]
    seen: set[str] = set()
    names: list[tuple[FactKind, str]] = [("person", s.text) for s in person_spans(sentence)]
    names += [("org", s.text) for s in org_spans(sentence)]
    # Phrases after 在/位于 longer than a place name are descriptions, not names.
    names += [("place", s.text) for s in place_spans(sentence) if len(s.text) <= 8]
    for kind, text in names:
        name = normalize(text)
        if kind != "person":
            # The extractors read back from a suffix ("…公司") to punctuation, which in a
            # generated sentence may take in a clause ("其中23家为上市公司"): keep the name.
            name = _CLAUSE_BREAK.split(name)[-1]
        if len(name) >= 2 and name not in seen and not re.fullmatch(r"[\d\W]+", name):
            seen.add(name)
            out.append(Fact(kind, name))
    return out


class Evidence:
    """A text that may support facts: its normalised form and its numbers, computed once."""

    def __init__(self, text: str) -> None:
        self.text = normalize(text).lower()
        self.numbers = numbers(text)

    def holds(self, fact: Fact) -> bool:
        if fact.number is not None:
            return any(same_number(fact.number, n) for n in self.numbers)
        name = fact.text.lower()
        if name in self.text:
            return True
        # Persons must match exactly; an organisation or place may be worded around its
        # words ("武汉光谷的创新发展研究院"), as long as every word of it is in the source.
        return fact.kind != "person" and all(w in self.text for w in words(name))

    def overlap(self, sentence_words: list[str]) -> float:
        """Share of ``sentence_words`` found in this text (1.0 for no words)."""
        if not sentence_words:
            return 1.0
        return sum(1 for w in sentence_words if w in self.text) / len(sentence_words)


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    tokens = list(dict.fromkeys(t for t in tokenize(text) if not re.fullmatch(r"[\d.,%]+", t)))
    # Search mode also emits compounds of shorter tokens ("武汉市" with "武汉"); keep the
    # shortest pieces so a compound written differently in the source still matches.
    return tuple(t for t in tokens if not any(o != t and o in t for o in tokens))


def words(text: str) -> list[str]:
    """Content words of ``text`` (jieba, stopwords and bare numbers removed), shortest pieces."""
    return list(_words(text))
