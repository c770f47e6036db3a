"""Candidate answer spans in a sentence, by answer type (numbers, dates, names, places)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.questions import QType

_DIGITS = r"\d+(?:[.,]\d+)*"
_HAN_NUM = r"[零一二两三四五六七八九十百千万亿半]+"
_MULT = r"(?:万亿|千亿|百亿|亿|千万|百万|十万|万|千|百)"
_PREFIX = r"(?:近|约|超过|超|逾|不到|不足|不低于|不少于|仅|共|累计|达|多达|高达)"
_SUFFIX = r"(?:多|余|以上|以下|左右)"
UNITS = sorted(
    [
        "万亿元",
        "亿美元",
        "万美元",
        "亿元",
        "万元",
        "千元",
        "美元",
        "元",
        "亿瑞士法郎",
        "瑞士法郎",
        "平方公里",
        "平方千米",
        "万平方米",
        "平方米",
        "公顷",
        "亩",
        "万吨",
        "吨",
        "公斤",
        "千克",
        "克",
        "厘米",
        "毫米",
        "公里",
        "千米",
        "米",
        "万辆",
        "辆",
        "台",
        "套",
        "件",
        "个",
        "家",
        "项",
        "名",
        "位",
        "人",
        "次",
        "倍",
        "座",
        "所",
        "条",
        "种",
        "批",
        "届",
        "款",
        "支",
        "户",
        "栋",
        "幢",
        "层",
        "千瓦",
        "瓦",
        "度",
        "微伏",
        "伏",
        "PFLOPS",
        "kVA",
        "%",
        "％",
        "个月",
        "个工作日",
        "工作日",
        "年",
        "月",
        "天",
        "日",
        "小时",
        "分钟",
        "周",
        "岁",
        "强",
        "级",
        "期",
        "只",
        "份",
        "场",
        "轮",
        "部",
        "篇",
        "册",
        "门",
        "株",
        "头",
        "亿人次",
        "万人次",
        "人次",
        "个百分点",
    ],
    key=len,
    reverse=True,
)
_UNIT = "(?:" + "|".join(re.escape(u) for u in UNITS) + ")"
NUMBER = re.compile(
    rf"{_PREFIX}?(?:{_DIGITS}{_MULT}?|{_HAN_NUM}){_SUFFIX}?(?:{_UNIT}){_SUFFIX}?"
    rf"|{_PREFIX}?{_DIGITS}{_MULT}?{_SUFFIX}?"
)
_TIME_UNITS = ("年", "个月", "月", "天", "日", "小时", "分钟", "周", "个工作日", "工作日")
DATE = re.compile(
    r"(?:\d{4}|今|去|明|前)年(?:\d{1,2}月(?:\d{1,2}日|上旬|中旬|下旬|底|初|中)?|底|初|上半年|下半年|一季度|二季度|三季度|四季度|第[一二三四]季度)?"
    r"|\d{1,2}月(?:\d{1,2}日|上旬|中旬|下旬|底|初|中)?"
    r"|\d{4}(?=[-—至到]\d{4}年)"
)
ROLES = [
    "常务副总经理",
    "副总经理",
    "总经理",
    "董事长",
    "副董事长",
    "首席执行官",
    "首席科学家",
    "首席技术官",
    "总裁",
    "副总裁",
    "院长",
    "副院长",
    "常务副主任",
    "副主任",
    "主任",
    "党委书记",
    "党工委书记",
    "副书记",
    "书记",
    "副局长",
    "局长",
    "副部长",
    "部长",
    "副经理",
    "经理",
    "负责人",
    "院士",
    "教授",
    "研究员",
    "理事长",
    "秘书长",
    "会长",
    "主席",
    "行长",
    "厂长",
    "所长",
    "处长",
    "科长",
    "区长",
    "市长",
    "省长",
    "县长",
    "镇长",
    "总监",
    "创始人",
    "合伙人",
    "工作人员",
    "干部",
    "员工",
    "管理人",
    "副关长",
    "关长",
    "巡视员",
    "常委",
    "委员",
    "专家",
    "主管",
    "董事",
    "总工程师",
    "工程师",
    "博士",
]
_ROLE = "(?:" + "|".join(sorted(ROLES, key=len, reverse=True)) + ")"
_SAY = r"(?:说|表示|介绍|告诉|认为|指出|称|坦言|透露|强调|提到|回忆|解释|对|在|向|也|等|:|：|,|，|。|、|”|\s|$)"
PERSON = re.compile(rf"{_ROLE}([\u4e00-\u9fff]{{2,3}}?)(?={_SAY})")
ORG_SUFFIX = re.compile(
    r"(?:股份有限公司|有限责任公司|有限公司|集团|公司|研究院|研究所|研究中心|实验室|大学|学院|医院|银行|"
    r"基金|协会|委员会|管理局|管委会|中心|科学院|工作站|监测站)"
)
_ORG_BREAK = set('，,。、；;：:“”"《》（）()!?！？ 和与及或')
_ORG_LEAD = re.compile(
    r"^(?:由|是|为|在|从|向|对|被|将|经|据|其|该|此|依托|联合|通过|以|与|和|及|的|到|即|把|让|给|等)+"
)
PLACE_SUFFIX = re.compile(
    r"[\u4e00-\u9fff]{1,12}?(?:省|市|自治区|区|县|镇|乡|村|岛|湖|湾|园|城|港|街道|片区|新区|开发区|园区)"
)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str
    kind: QType
    unit: str | None = None


def _unit_of(text: str) -> str | None:
    for u in UNITS:
        if u in text:
            return u
    return None


def number_spans(text: str) -> list[Span]:
    out = []
    for m in NUMBER.finditer(text):
        s = m.group(0)
        if not any(ch.isdigit() for ch in s) and _unit_of(s) is None:
            continue  # a bare Chinese numeral ("一", "万") is rarely an answer
        out.append(Span(m.start(), m.end(), s, "number", _unit_of(s)))
    return out


def date_spans(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.group(0), "date") for m in DATE.finditer(text)]


def duration_spans(text: str) -> list[Span]:
    return [
        Span(s.start, s.end, s.text, "duration", s.unit)
        for s in number_spans(text)
        if s.unit in _TIME_UNITS or "半" in s.text
    ]


def person_spans(text: str) -> list[Span]:
    out = [Span(m.start(1), m.end(1), m.group(1), "person") for m in PERSON.finditer(text)]
    taken = {s.text for s in out}
    for word, start in _tagged(text, ("nr",)):
        if word not in taken and 2 <= len(word) <= 4:
            out.append(Span(start, start + len(word), word, "person"))
            taken.add(word)
    return out


def org_spans(text: str) -> list[Span]:
    out: list[Span] = []
    for m in ORG_SUFFIX.finditer(text):
        i = m.start()
        while i > 0 and text[i - 1] not in _ORG_BREAK and m.end() - i < 40:
            i -= 1
        name = text[i : m.end()]
        lead = _ORG_LEAD.match(name)
        if lead:
            i += lead.end()
            name = name[lead.end() :]
        if len(name) >= 3 and not any(s.start <= i < s.end for s in out):
            out.append(Span(i, m.end(), name, "org"))
    for word, start in _tagged(text, ("nt",)):
        if not any(s.start <= start < s.end for s in out):
            out.append(Span(start, start + len(word), word, "org"))
    return out


def place_spans(text: str) -> list[Span]:
    out = [Span(start, start + len(w), w, "place") for w, start in _tagged(text, ("ns",))]
    for m in re.finditer(
        r"(?:位于|落户|落地|坐落于|设在|在)([^，,。；;]{2,30}?)(?=[，,。；;]|的|内|举行|举办|揭牌|成立)",
        text,
    ):
        out.append(Span(m.start(1), m.end(1), m.group(1), "place"))
    return out


_EXTRACTORS = {
    "number": number_spans,
    "date": date_spans,
    "duration": duration_spans,
    "person": person_spans,
    "org": org_spans,
    "place": place_spans,
}


def spans_for(qtype: QType, text: str) -> list[Span]:
    """Candidate answer spans of the asked type; none for open ("what") questions."""
    extract = _EXTRACTORS.get(qtype)
    return extract(text) if extract else []


_posseg_lock = threading.Lock()


@lru_cache(maxsize=1)
def _posseg() -> Any:
    from rag.lexical import _jieba

    _jieba()
    import jieba.posseg

    return jieba.posseg


@lru_cache(maxsize=4096)
def _tags(text: str) -> tuple[tuple[str, str, int], ...]:
    out = []
    pos = 0
    with _posseg_lock:  # jieba's HMM tagger is not thread-safe
        pairs = list(_posseg().cut(text))
    for pair in pairs:
        out.append((pair.word, pair.flag, pos))
        pos += len(pair.word)
    return tuple(out)


def _tagged(text: str, flags: tuple[str, ...]) -> list[tuple[str, int]]:
    return [(w, p) for w, f, p in _tags(text) if f in flags]
