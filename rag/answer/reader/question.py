"""What a question asks for: answer type, expected unit, content terms, language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rag.answer.reader.answer_spans import ROLES, tagged_words
from rag.answer.reader.question_frame import Frame, frame
from rag.answer.reader.question_words import (
    DAY,
    EN_TYPES,
    HOW,
    INDEFINITE,
    LIST,
    QUESTION_WORDS,
    WHY,
    YEAR,
    ZH_TYPES,
    QType,
)
from rag.text.chars import DECIMAL, has_han
from rag.text.normalize import normalize
from rag.text.tokens import in_dictionary, token_spans, tokenize
from rag.text.units import ASKED_UNITS
from rag.text.units import english_units as _english_units

# "多少家", "几亿元": the unit a question names explicitly (see data/units.tsv, "asked").
_ZH_UNIT = re.compile(
    rf"(?:多少|(?<![{INDEFINITE}])几)(?:万|亿|千|百)?({'|'.join(map(re.escape, ASKED_UNITS))})"
)
# English words that name what a number counts or measures ("how many companies" → 家), from
# data/units_en.tsv: a stem and the unit whose class answers it.
_EN_UNITS, _EN_MEASURES = _english_units()
_EN_MEASURE = re.compile(rf"how ({'|'.join(map(re.escape, _EN_MEASURES))})\b")
# Words that imply the unit of a number question even without a measure word.
_IMPLIED = [
    (
        re.compile(r"(?:增长|增加|上涨|涨|下降|降低|减少|提高|提升|增幅|降幅)了?多少(?!万|亿|元)"),
        "%",
    ),
    (
        re.compile(
            r"投资|资金|产值|营收|收入|金额|奖励|补贴|补助|费用|成本|税收|利润|融资|授信|总额|估值|资产|价值|钱"
            r"|价格|售价|单价|定价|票价|房价|造价|报价|价钱|租金|工资|薪酬|罚款|预算"
        ),
        "元",
    ),
    (re.compile(r"面积|占地|场地"), "平方米"),
    (re.compile(r"比例|占比|比重|增长率|增速|百分|率"), "%"),
    (re.compile(r"人数|员工|人员|职工|人才|就业"), "人"),
    # how long / wide / deep / thick / tall / far: a length; how heavy: a weight
    (re.compile(r"多(?:长|宽|深|厚|粗|高|远)|长度|宽度|深度|厚度|高度|海拔|距离"), "米"),
    (re.compile(r"多重|重量|体重"), "公斤"),
    (re.compile(r"年纪|年龄|岁数"), "岁"),
]

_NUMBER = re.compile(DECIMAL)
_QUOTED = re.compile(r"[“\"「『《]([^”\"」』》]{2,30})[”\"」』》]")
# Place, organisation and other proper-noun tags; person tags are left out because jieba
# tags many common words as names.
_PROPER_FLAGS = ("ns", "nt", "nz")
_FUNCTION = set("和与及或在的了是由从对把被向于")  # a "name" starting with these is a mis-cut
FOCUS_WINDOW = 6  # characters around the question word whose terms the answer must sit near


@dataclass(frozen=True)
class QuestionInfo:
    """A question analysed once, used by every answerer."""

    text: str
    qtype: QType
    unit: str | None
    terms: tuple[str, ...]
    english: bool
    focus: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()  # quantities named in the question ("35个项目")
    dates: tuple[str, ...] = ()  # years, months, days named in the question ("2022年")
    entities: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    granularity: Literal["year", "day", "any"] = "any"
    frame: Frame | None = None  # the question's words around its question word
    reason: bool = False  # asks why
    listing: bool = False  # asks for every item of an enumeration (哪些, 哪几家, 分别是)
    method: bool = False  # asks how something is done (如何, 通过什么方式)
    # An English question's Chinese words that stand for one of its ``terms``: every
    # translation of an English word counts as that word's first one found in the corpus.
    synonyms: tuple[tuple[str, str], ...] = ()  # (another translation, the term)

    @property
    def wants_span(self) -> bool:
        return self.qtype != "other"


def analyse(question: str) -> QuestionInfo:
    text = normalize(question)
    english = not has_han(text)
    reason = bool(WHY.search(text))
    qtype: QType = "other"
    # A why question asks for a reason, whatever else it names ("训练时间是别人的一半，为什么…").
    for name, pattern in () if reason else EN_TYPES if english else ZH_TYPES:
        if pattern.search(text):
            qtype = name
            break
    cut = text if english else _counter_apart(text)
    unit = _unit(cut, english) if qtype == "number" else None
    terms = tuple(dict.fromkeys(tokenize(QUESTION_WORDS.sub(" ", cut))))
    granularity: Literal["year", "day", "any"] = "any"
    if qtype == "date":
        granularity = "day" if DAY.search(text) else "year" if YEAR.search(text) else "any"
    return QuestionInfo(
        text=text,
        qtype=qtype,
        unit=unit,
        terms=terms,
        english=english,
        focus=() if english else _focus(cut, set(terms)),
        numbers=tuple(
            dict.fromkeys(m.group(0) for m in _NUMBER.finditer(text) if not _is_date(text, m))
        ),
        dates=tuple(dict.fromkeys(m.group(0) for m in _NUMBER.finditer(text) if _is_date(text, m))),
        entities=() if english else _entities(text),
        roles=_roles(text, qtype) if qtype in ("person", "org") else (),
        granularity=granularity,
        frame=None if english else frame(text.lower()),
        reason=reason,
        listing=bool(LIST.search(text)),
        method=not reason and bool(HOW.search(text)),
    )


def _counter_apart(text: str) -> str:
    """``text`` with a space after the counter of "多少名跑者" where jieba glues the counter to
    the noun in a word it does not know ("名跑者"), so the counter is read as the asked unit
    and the noun as a word of the question; a dictionary word ("多少支持") stays whole."""
    cuts = [
        m.end(1)
        for m in _ZH_UNIT.finditer(text)
        if (word := next((w for w, s, _ in token_spans(text) if s == m.start(1)), m.group(1)))
        and len(word) > len(m.group(1))
        and not in_dictionary(word)
    ]
    for at in reversed(cuts):
        text = f"{text[:at]} {text[at:]}"
    return text


def _is_date(text: str, m: re.Match[str]) -> bool:
    return text[m.end() : m.end() + 1] in ("年", "月", "日", "号")


def _focus(text: str, terms: set[str]) -> tuple[str, ...]:
    """Terms next to the question word: what the answer must be about ("发放…奖励资金")."""
    m = QUESTION_WORDS.search(text)
    if not m:
        return ()
    lo, hi = m.start() - FOCUS_WINDOW, m.end() + FOCUS_WINDOW
    return tuple(
        dict.fromkeys(w for w, s, e in token_spans(text) if w in terms and e > lo and s < hi)
    )


def _entities(text: str) -> tuple[str, ...]:
    """Names the question is about (places, organisations, quoted titles)."""
    names = [
        w
        for w, flag, _ in tagged_words(text)
        if flag in _PROPER_FLAGS
        and len(w) >= 2
        and in_dictionary(w)
        and w[0] not in _FUNCTION
        and not QUESTION_WORDS.search(w)  # the tagger's "哪些项目" asks, it names nothing
    ]
    names += _QUOTED.findall(text)
    return tuple(dict.fromkeys(n for n in names if not QUESTION_WORDS.fullmatch(n)))


def _roles(text: str, qtype: QType) -> tuple[str, ...]:
    found = [r for r in sorted(ROLES, key=len, reverse=True) if r in text]
    # Keep the longest: "副主任" also contains "主任", but only the former was asked.
    roles = [r for r in found if not any(r != o and r in o for o in found)]
    return tuple(dict.fromkeys(roles))


def _unit(text: str, english: bool) -> str | None:
    """The unit a number question asks for."""
    if english:
        low = text.lower()
        m = _EN_MEASURE.search(low)
        if m:
            return _EN_MEASURES[m.group(1)]
        m = re.search(r"how (?:many|much) ([a-z ]+)", low)
        if m:
            for stem, unit in _EN_UNITS.items():
                if m.group(1).startswith(stem) or f" {stem}" in m.group(1)[:30]:
                    return unit
        for stem, unit in _EN_UNITS.items():
            if unit in ("元", "%") and re.search(rf"\b{stem}", low):
                return unit
        return None
    for m in _ZH_UNIT.finditer(text):
        # "多少家" asks for 家, but "多少支持" does not ask for 支: the unit must be a word.
        word = next((w for w, s, _ in token_spans(text) if s == m.start(1)), m.group(1))
        if len(word) <= len(m.group(1)):
            return m.group(1)
    m = re.search(r"多少\s*([A-Za-z]{2,})", text)
    if m:
        return m.group(1)
    # The cue nearest the question word: "利润的多少比例用于分红" asks for a share (比例),
    # though 利润 is a money word too.
    asked = QUESTION_WORDS.search(text)
    at = asked.start() if asked else len(text)
    found = [
        (min(abs(m.start() - at) for m in hits), order, unit)
        for order, (pattern, unit) in enumerate(_IMPLIED)
        if (hits := list(pattern.finditer(text)))
    ]
    return min(found)[2] if found else None
