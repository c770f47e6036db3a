"""What a question asks for: answer type, expected unit, content terms, language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rag.lexical import tokenize
from rag.normalize import has_cjk, normalize

QType = Literal["number", "date", "duration", "person", "org", "place", "other"]

# Ordered: the first matching pattern decides ("几月" is a date, "几年" a duration, "几家" a count).
_ZH_TYPES: list[tuple[QType, re.Pattern[str]]] = [
    (
        "date",
        re.compile(r"哪一?年|哪一?天|哪个月|几月|几号|何时|什么时候|什么时间|哪个时间|日期|时间是"),
    ),
    (
        "duration",
        re.compile(
            r"多久|多长时间|多长的时间|多少年|几年|多少天|几天|多少个月|几个月|多少小时|耗时"
        ),
    ),
    (
        "number",
        re.compile(
            r"多少|几[个家项名位人次倍座所条台套种批款辆万亿千百十]|多大|多高|多重|多远|多快|百分之几|比例|占比|比重|增长率|增速|几成"
        ),
    ),
    ("person", re.compile(r"谁|哪位|什么人|何人|姓名|叫什么名字")),
    (
        "org",
        re.compile(
            r"哪家|哪些(?:公司|企业|机构|单位|部门)|哪个(?:公司|企业|机构|单位|部门|集团|银行|大学|高校|研究院|研究所|实验室|组织|团队|平台)|什么(?:公司|企业|机构|单位|部门|组织)"
        ),
    ),
    (
        "place",
        re.compile(
            r"哪里|哪儿|什么地方|在哪|哪个(?:城市|省|地区|区|县|市|园区|地方|国家)|哪座|哪些地方|哪些地区|哪些国家|何地|何处"
        ),
    ),
]
_EN_TYPES: list[tuple[QType, re.Pattern[str]]] = [
    (
        "date",
        re.compile(
            r"\b(when|what year|which year|what date|which month|what month|what day)\b", re.I
        ),
    ),
    ("duration", re.compile(r"\bhow long\b|\bhow many (years|months|days|hours)\b", re.I)),
    (
        "number",
        re.compile(
            r"\b(how many|how much|what percentage|what proportion|what share|how large|how big|how high|how tall|how heavy|what (?:is|was) the (?:total|amount|number|value|area|output|capacity|investment))\b",
            re.I,
        ),
    ),
    ("person", re.compile(r"\b(who|whom|whose)\b", re.I)),
    (
        "org",
        re.compile(
            r"\bwhich (company|companies|organi[sz]ation|institution|firm|enterprise|university|institute|agency|body|group|bank|laboratory|lab)\b|\bwhat (company|organi[sz]ation|institution|firm)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            r"\bwhere\b|\bwhich (city|province|region|district|country|place|park|zone)\b|\bin what (city|province|place)\b",
            re.I,
        ),
    ),
]

_UNITS = (
    "万亿元|亿美元|万美元|亿元|万元|元|亿瑞士法郎|平方公里|平方千米|万平方米|平方米|公顷|亩|万吨|吨|公斤|千克|"
    "厘米|毫米|公里|万辆|辆|台|套|件|个|家|项|名|位|人|次|倍|座|所|条|种|批|届|款|支|户|栋|幢|层|千瓦|瓦|度"
)
_ZH_UNIT = re.compile(rf"(?:多少|几)(?:万|亿|千|百)?({_UNITS})")
_EN_UNITS = {
    "compan": "家",
    "enterprise": "家",
    "firm": "家",
    "business": "家",
    "project": "个",
    "platform": "个",
    "item": "个",
    "field": "个",
    "area": "个",
    "people": "人",
    "person": "人",
    "employee": "人",
    "worker": "人",
    "staff": "人",
    "talent": "人",
    "yuan": "元",
    "rmb": "元",
    "dollar": "美元",
    "ton": "吨",
    "square kilomet": "平方公里",
    "square met": "平方米",
    "mu": "亩",
    "vehicle": "辆",
    "car": "辆",
    "set": "套",
    "time": "次",
    "percent": "%",
    "percentage": "%",
    "proportion": "%",
    "share": "%",
    "money": "元",
    "investment": "元",
    "fund": "元",
    "output": "元",
    "revenue": "元",
    "value": "元",
}
# Words that imply the unit of a number question even without a measure word.
_IMPLIED = [
    (
        re.compile(
            r"投资|资金|产值|营收|收入|金额|奖励|补贴|补助|费用|成本|税收|利润|融资|授信|总额|估值|资产|价值|钱"
        ),
        "元",
    ),
    (re.compile(r"面积|占地"), "平方米"),
    (re.compile(r"比例|占比|比重|增长率|增速|百分|率"), "%"),
    (re.compile(r"人数|员工|人员|职工|人才|就业"), "人"),
]

_QUESTION_WORDS = re.compile(
    r"多少|几[个家项名位人次倍座所条台套种批款辆年天月]?|什么|哪[一个家些位里儿年天座]*|谁|何时|何地|如何|怎么|怎样|为什么|是否|吗|呢|？|\?"
)


@dataclass(frozen=True)
class QuestionInfo:
    """A question analysed once, used by every answerer."""

    text: str
    qtype: QType
    unit: str | None
    terms: tuple[str, ...]
    english: bool

    @property
    def wants_span(self) -> bool:
        return self.qtype != "other"


def analyse(question: str) -> QuestionInfo:
    text = normalize(question)
    english = not has_cjk(text)
    qtype: QType = "other"
    for name, pattern in _EN_TYPES if english else _ZH_TYPES:
        if pattern.search(text):
            qtype = name
            break
    unit = _unit(text, english) if qtype == "number" else None
    terms = tuple(dict.fromkeys(tokenize(_QUESTION_WORDS.sub(" ", text))))
    return QuestionInfo(text=text, qtype=qtype, unit=unit, terms=terms, english=english)


def _unit(text: str, english: bool) -> str | None:
    if english:
        low = text.lower()
        m = re.search(r"how (?:many|much) ([a-z ]+)", low)
        if m:
            for stem, unit in _EN_UNITS.items():
                if m.group(1).startswith(stem) or f" {stem}" in m.group(1)[:30]:
                    return unit
        for stem, unit in _EN_UNITS.items():
            if unit in ("元", "%") and re.search(rf"\b{stem}", low):
                return unit
        return None
    m = _ZH_UNIT.search(text)
    if m:
        return m.group(1)
    for pattern, unit in _IMPLIED:
        if pattern.search(text):
            return unit
    return None
