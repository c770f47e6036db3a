"""Candidate answer spans in a sentence, by answer type (numbers, dates, names, places)."""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from rag.text.chars import (
    CLAUSE_END,
    COLONS,
    COMMAS,
    ENUMERATION_COMMA,
    HAN,
    HAN_NUMERAL,
    HAN_ONE_TO_NINE,
    MULTIPLIERS,
    PHRASE_BREAK,
    STOPS,
    char_class,
    is_han,
)
from rag.text.pinyin import surnames
from rag.text.tokens import in_dictionary, word_frequency
from rag.text.units import UNITS, unit_class

_UNIT = "(?:" + "|".join(re.escape(u) for u in UNITS) + ")"
_DIGITS = r"\d+(?:[.,]\d+)*"
# 半 counts ("半年"); 〇 does not: it writes the digits of a year ("二〇二三年"), a date.
_HAN_NUM = rf"[{HAN_NUMERAL.replace('〇', '')}半]+"
_MULT = "(?:" + "|".join(MULTIPLIERS) + ")"
_PREFIX = r"(?:近|约|超过|超|逾|不到|不足|不低于|不少于|多达|高达|第)"  # 第: an ordinal
_SUFFIX = r"(?:多|余|以上|以下|左右)"
NUMBER = re.compile(
    rf"{_PREFIX}?(?:{_DIGITS}{_MULT}?|{_HAN_NUM}){_SUFFIX}?{_UNIT}{_SUFFIX}?"
    rf"(?:[-—至到~]{_DIGITS}{_MULT}?{_UNIT})?"
    rf"|{_PREFIX}?{_DIGITS}{_MULT}?{_SUFFIX}?(?:[-—至到~]{_DIGITS}{_MULT}?{_SUFFIX}?{_UNIT}?)?"
)
# The numerals of centuries ("二十世纪").
_CN_DIGITS = "〇零" + HAN_ONE_TO_NINE + "十百"
# Calendar dates, and times that are not: a decade (first, or "1990年代" reads as a year),
# a century.
DATE = re.compile(
    r"\d{2,4}年代(?:初|末|中期|后期)?"
    r"|(?:公元前?\d{1,4}|\d{4}|今|去|明|前)年(?:\d{1,2}月(?:\d{1,2}日|上旬|中旬|下旬|底|初|中)?|底|初"
    r"|上半年|下半年|[一二三四]季度|第[一二三四]季度)?"
    r"|\d{1,2}月(?:\d{1,2}日|上旬|中旬|下旬|底|初|中)?"
    rf"|(?:\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})世纪(?:[\d{_CN_DIGITS}]+年代)?(?:初|末|中叶|中期|上半叶|下半叶)?"
)
# Titles and roles written before a person's name, from data/roles.txt.
ROLES = [
    line.strip()
    for line in resources.files("rag.answer.reader")
    .joinpath("data/roles.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip() and not line.startswith("#")
]
_ROLE = "(" + "|".join(sorted(ROLES, key=len, reverse=True)) + ")"
# A name ends at a verb of saying, a preposition, punctuation or a space.
_PUNCT_AFTER_NAME = char_class(COLONS, COMMAS, "。", ENUMERATION_COMMA, "”", also=r"\s")
_AFTER_NAME = (
    r"(?:说|表示|介绍|告诉|认为|指出|称|坦言|透露|强调|提到|回忆|解释|对|在|向|也|等|深有|"
    rf"{_PUNCT_AFTER_NAME}|$)"
)
PERSON = re.compile(rf"{_ROLE}([{HAN}]{{2,3}}?)(?={_AFTER_NAME})")
# The tagger's flags for a person's name (nr; nrt transliterated; nrfg), and those it gives
# the pieces of a transliterated name that it does not know as one (a place, a rare word).
NAME_FLAGS = frozenset({"nr", "nrt", "nrfg"})
_NAME_PIECE_FLAGS = NAME_FLAGS | {"ns", "nz", "zg", "ng", "eng"}
_NAME_CHAR_FLAGS = frozenset({"m", "n", "j", "g"})  # a lone character the tagger split off
MAX_HAN_NAME = 2  # a name run this short must start with a surname (longer: often foreign)
# A run ending in an administrative unit is a place, though the tagger's dictionary has some
# (高新区) as names.
ADMINISTRATIVE = frozenset("省市县区镇乡村")
_GIVEN_FLAGS = frozenset({"n", "ng", "nr", "g"})
# The tagger's flags (first letter) of words no name is made of: conjunctions, prepositions,
# particles, pronouns, distinguishing words ("副"), numerals, measure, locative, time and
# place words.
_FUNCTION_FLAGS = frozenset("cpurbmqfyeoxts")
# jieba's count of a lone character below which it is read as the third of a two-character
# name. In CMRC's train contexts the characters the tagger split off names counted 11-571
# (司马聃, 袁丽嫦, 杜宇麒, 王法慧), the first wrong join 884 (名媛 + 孟, the next name's surname).
RARE_WORD = 700
INTERPUNCT = "·・•"
MAX_NAME_PART = 10  # characters of one side of an interpunct name
_ROLE_ANY = re.compile(_ROLE)
ORG_SUFFIX = re.compile(
    r"(?:股份有限公司|有限责任公司|有限公司|集团|公司|研究院|研究所|研究中心|实验室|大学|学院|医院|银行|"
    r"基金|协会|委员会|管理局|管委会|厅|中心|科学院|工作站|监测站)"
)
# An organisation's name runs back from its suffix to punctuation, a quote or a conjunction.
_ORG_BREAK = set(CLAUSE_END + STOPS + '“”"《》 和与及或')
_OPENER_OF = {"）": "（", ")": "("}
_CLOSERS = frozenset(_OPENER_OF)
MAX_ORG = 40  # characters of an organisation's name
_ORG_LEAD = re.compile(
    r"^(?:由|是|为|在|从|向|对|被|将|经|据|其|该|此|依托|联合|通过|以|与|和|及|的|到|即|把|让|给|等|近日|日前|毕业于|来自|隶属于|属于|位于)+"
)
AGENT = re.compile(
    rf"(?:由|经)({char_class(PHRASE_BREAK, ENUMERATION_COMMA, '“”由经', negate=True)}{{2,24}}?)(?:牵头|主导|联合|负责|发布|推出|研发|研制|主办|承办|举办|"
    r"组织|建设|打造|投资|提供|发起|设立|运营|承建|开发|完成|带领|审核|审批|批准|认定|评审|同意)"
)
_PLACE_CONTEXT = re.compile(
    rf"(?:位于|落户|落地|坐落于|设在|在)({char_class(PHRASE_BREAK, negate=True)}{{2,30}}?)"
    rf"(?={char_class(PHRASE_BREAK)}|的|内|举行|举办|揭牌|成立)"
)


@dataclass(frozen=True, slots=True)
class Span:
    """A candidate answer inside a sentence; ``roles`` are the titles before a name
    ("某产业创新中心董事长、某研究院副院长李某": 董事长 and 副院长)."""

    start: int
    end: int
    text: str
    kind: str
    unit: str | None = None
    roles: tuple[str, ...] = ()


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
        unit = _unit_of(s)
        after = text[m.end() : m.end() + 1]
        if unit in ("月", "日") or (
            unit == "年" and (re.fullmatch(r"\D*\d{4}年", s) or (after and after in "月度"))
        ):
            continue  # a date ("2023年", "2月15日", "8月"), not a quantity ("13个月", "5年")
        out.append(Span(m.start(), m.end(), s, "number", unit))
    return out


_RANGE = re.compile(r"\s*(?:至|到|—|－|-|~|～)\s*")  # what joins the two ends of a range


def date_spans(text: str) -> list[Span]:
    """Dates, and each range of two joined by 至/到/a dash ("3月1日至5月31日") as one more."""
    dates = [Span(m.start(), m.end(), m.group(0), "date") for m in DATE.finditer(text)]
    ranges = [
        Span(a.start, b.end, text[a.start : b.end], "date")
        for a, b in itertools.pairwise(dates)
        if _RANGE.fullmatch(text, a.end, b.start)
    ]
    return dates + ranges


def duration_spans(text: str) -> list[Span]:
    return [
        Span(s.start, s.end, s.text, "duration", s.unit)
        for s in number_spans(text)
        if unit_class(s.unit) == "time" or "半" in s.text
    ]


def person_spans(text: str) -> list[Span]:
    words = tagged_words(text)
    whole = {(at, at + len(w)): flag for w, flag, at in words}
    out = [
        Span(m.start(2), m.end(2), m.group(2), "person", roles=roles_before(text, m.start(2)))
        for m in PERSON.finditer(text)
        if not _other_word(m.group(2), whole.get(m.span(2)))
    ]
    out += agent_spans(text)
    out += _titled_names(text, words, whole, {s.start for s in out})
    out += [_foreign(text, s, e) for s, e in _interpunct_names(words)]
    taken = {s.text for s in out}
    for start, end in _name_runs(words):
        name = text[start:end]
        if any(s.start <= start < s.end for s in out) or name in taken:
            continue
        out.append(Span(start, end, name, "person", roles=roles_before(text, start)))
        taken.add(name)
    return out


def _other_word(name: str, flag: str | None) -> bool:
    """``name``, read after a title, is one word the dictionary knows as something else
    ("出席", "同志"), as the tagger cut it (``flag``; None: not one word)."""
    return flag is not None and flag not in NAME_FLAGS and in_dictionary(name)


def _titled_names(
    text: str,
    words: tuple[tuple[str, str, int], ...],
    whole: dict[tuple[int, int], str],
    taken: set[int],
) -> list[Span]:
    """A name right after a title, whatever word follows it ("局长某某站在…"): two or three
    characters from a surname to the end of a word, not one word the dictionary knows as
    something else (``whole``: each word's flag by its bounds). ``PERSON`` reads only names
    followed by a verb of saying or a break."""
    bounds = {at for _, _, at in words} | {at + len(w) for w, _, at in words}
    out = []
    for role in _ROLE_ANY.finditer(text):
        start = role.end()
        if start in taken or start not in bounds:
            continue
        end = next((e for e in (start + 2, start + 3) if e in bounds), None)
        if end is None:
            continue
        name = text[start:end]
        if _other_word(name, whole.get((start, end))):
            continue
        # the tagger reads a lone surname as anything ("许" a numeral): past it, a
        # conjunction, particle or pronoun ("和副…") is no part of a name
        pieces = [
            f for w, f, at in words if start <= at < end and not (at == start and len(w) == 1)
        ]
        if any(f[:1] in _FUNCTION_FLAGS for f in pieces):
            continue
        if all(is_han(ch) for ch in name) and _has_surname(name):
            out.append(Span(start, end, name, "person", roles=roles_before(text, start)))
            taken.add(start)
    return out


def _name_runs(words: tuple[tuple[str, str, int], ...]) -> list[tuple[int, int]]:
    """Runs of words tagged as names, joined: the tagger cuts a name it does not know into
    pieces it tags apart ("某" + "某某"). A short run tagged only as a Chinese name must start
    with a surname: the tagger also reads some verbs and nouns as names."""
    runs: list[tuple[int, int]] = []
    start = end = -1
    chinese = True  # every piece of the run is tagged a Chinese name (nr), none foreign
    text = "".join(word for word, _, _ in words)  # the words cover the text
    for word, flag, at in (*words, ("", "", -1)):
        if flag in NAME_FLAGS and at == end:
            end = at + len(word)
            chinese = chinese and flag == "nr"
            continue
        short = chinese and end - start <= MAX_HAN_NAME
        named = 2 <= end - start <= 6 and text[end - 1 : end] not in ADMINISTRATIVE
        if named and not (short and not _has_surname(text[start:end])):
            if short and at == end and _given_name_char(word, flag):
                end += 1  # "袁丽" + "嫦": the tagger split the last character off
            runs.append((start, end))
        start, end = (at, at + len(word)) if flag in NAME_FLAGS else (-1, -1)
        chinese = flag == "nr"
    return runs


def _given_name_char(word: str, flag: str) -> bool:
    """A lone character after a two-character name that is its third: tagged a noun, and
    rare as a word by itself (a common one, "组" or "馆", is a word of its own)."""
    return len(word) == 1 and flag in _GIVEN_FLAGS and word_frequency(word) < RARE_WORD


def _has_surname(name: str) -> bool:
    known = surnames()
    return not known or name[:1] in known or name[:2] in known


def _interpunct_names(words: tuple[tuple[str, str, int], ...]) -> list[tuple[int, int]]:
    """Transliterated names, parts joined by an interpunct ("某某·某某某"): the words on either
    side that the tagger reads as a name or a piece of one."""

    def piece(word: str, flag: str) -> bool:
        return flag in _NAME_PIECE_FLAGS or (len(word) == 1 and flag in _NAME_CHAR_FLAGS)

    names: list[tuple[int, int]] = []
    for i, (word, _, at) in enumerate(words):
        if word not in INTERPUNCT or (names and at < names[-1][1]):
            continue
        j = i
        while j > 0 and piece(*words[j - 1][:2]) and at - words[j - 1][2] <= MAX_NAME_PART:
            j -= 1
        k, end = i, at + 1
        while k + 1 < len(words):
            nxt, flag, pos = words[k + 1]
            if not (piece(nxt, flag) or (nxt in INTERPUNCT and k > i)):
                break
            if pos + len(nxt) - at > MAX_NAME_PART:
                break
            k, end = k + 1, pos + len(nxt)
        while k > i and words[k][0] in INTERPUNCT:  # a trailing interpunct is not the name's
            k -= 1
            end = words[k][2] + len(words[k][0])
        if j < i and k > i:
            names.append((words[j][2], end))
    return names


def _foreign(text: str, start: int, end: int) -> Span:
    """A transliterated name, without the title written right before it ("主编某某·某某")."""
    dot = min((text.find(c, start, end) for c in INTERPUNCT if c in text[start:end]), default=end)
    for role in _ROLE_ANY.finditer(text, start, dot):
        start = role.end()
    return Span(start, end, text[start:end], "person", roles=roles_before(text, start))


def roles_before(text: str, start: int) -> tuple[str, ...]:
    """Titles in the run of words right before a name, back to the previous comma."""
    lo = max(text.rfind(c, 0, start) for c in PHRASE_BREAK + COLONS + "“”")
    return tuple(m.group(0) for m in _ROLE_ANY.finditer(text, lo + 1, start))


def agent_spans(text: str) -> list[Span]:
    """Who did something, in a passive frame: "由某公司发布", "由某研究院牵头建设"."""
    return [Span(m.start(1), m.end(1), m.group(1), "agent") for m in AGENT.finditer(text)]


def _org_start(text: str, i: int, end: int) -> int:
    """Where an organisation's name ending at ``end`` begins: back from ``i`` to a break. A
    bracket is part of the name when it holds a word ("中国（上海）…"), and ends it when it
    holds more (a byline's "（记者 某某）" before the name)."""
    while i > 0 and text[i - 1] not in _ORG_BREAK and end - i < MAX_ORG:
        if text[i - 1] in _CLOSERS:
            opener = text.rfind(_OPENER_OF[text[i - 1]], max(0, end - MAX_ORG), i - 1)
            inside = text[opener + 1 : i - 1] if opener >= 0 else ""
            if not inside or any(ch in _ORG_BREAK for ch in inside):
                break
            i = opener
            continue
        i -= 1
    return i


def org_spans(text: str) -> list[Span]:
    out: list[Span] = agent_spans(text)
    for m in ORG_SUFFIX.finditer(text):
        i = _org_start(text, m.start(), m.end())
        name = text[i : m.end()]
        lead = _ORG_LEAD.match(name)
        if lead:
            i += lead.end()
            name = name[lead.end() :]
        if len(name) >= 3 and not any(s.start <= i < s.end for s in out):
            out.append(Span(i, m.end(), name, "org"))
    for word, flag, start in tagged_words(text):
        if flag == "nt" and not any(s.start <= start < s.end for s in out):
            out.append(Span(start, start + len(word), word, "org"))
    return out


def place_spans(text: str) -> list[Span]:
    """Places the tagger names, and runs of them written together, largest first, as an
    address is ("浙江省杭州市西湖区"); and the phrase after 位于/设在/在."""
    places = [(s, s + len(w)) for w, flag, s in tagged_words(text) if flag == "ns"]
    out = [Span(s, e, text[s:e], "place") for s, e in places]
    for s, e in _adjacent_runs(places):
        out.append(Span(s, e, text[s:e], "place"))
    for m in _PLACE_CONTEXT.finditer(text):
        out.append(Span(m.start(1), m.end(1), m.group(1), "place"))
    return out


def _adjacent_runs(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs of two or more pieces, each starting where the one before it ends."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(pieces):
        j = i
        while j + 1 < len(pieces) and pieces[j + 1][0] == pieces[j][1]:
            j += 1
        if j > i:
            runs.append((pieces[i][0], pieces[j][1]))
        i = j + 1
    return runs


_EXTRACTORS = {
    "number": number_spans,
    "date": date_spans,
    "duration": duration_spans,
    "person": person_spans,
    "org": org_spans,
    "place": place_spans,
}


@lru_cache(maxsize=16384)
def spans_for(qtype: str, text: str) -> tuple[Span, ...]:
    """Candidate answer spans of the asked type; none for open ("what") questions. Memoised:
    the sentences of a served corpus are read again and again."""
    extract = _EXTRACTORS.get(qtype)
    return tuple(extract(text)) if extract else ()


_posseg_lock = threading.Lock()


@lru_cache(maxsize=1)
def _posseg() -> Any:
    from rag.text.tokens import _jieba

    _jieba()
    import jieba.posseg

    from rag.text.posseg_viterbi import install

    install(jieba.posseg)  # the same tags, several times faster
    return jieba.posseg


@lru_cache(maxsize=8192)
def tagged_words(text: str) -> tuple[tuple[str, str, int], ...]:
    """``(word, part-of-speech flag, offset)`` from jieba's tagger (ns place, nr person…)."""
    with _posseg_lock:  # jieba's HMM tagger is not thread-safe
        pairs = list(_posseg().cut(text))
    out = []
    pos = 0
    for pair in pairs:
        out.append((pair.word, pair.flag, pos))
        pos += len(pair.word)
    return tuple(out)
