"""Which span of a sentence answers: of the asked type, framed or pulled by the question's words.

The question's words pull each candidate span by their IDF, less with distance; a slot that
the question's frame marks in the sentence (see ``rag.answer.reader.question_frame``) draws the spans inside it and,
for who/which/where questions, is itself the answer when no tagged name fits.
"""

from __future__ import annotations

import re

from rag.answer.reader.answer_spans import Span, roles_before, spans_for
from rag.answer.reader.question import QuestionInfo
from rag.answer.reader.question_frame import Slot, occurrences
from rag.text.chars import COMMAS, DECIMAL, SENTENCE_END
from rag.text.normalize import normalize
from rag.text.units import unit_class

COUNTABLE = ("count", "people", "enterprise", "vehicle")
# How strongly a slot framed by the question's words draws the candidate spans inside it.
SLOT_PULL = 5.0
CLAUSE_BREAKS = COMMAS + SENTENCE_END
# A span of at least this many character pairs, this share of them found in the question,
# is what the question is about rather than its answer.
ASKED_MIN_PAIRS = 6
ASKED_SHARE = 0.75


def fits(info: QuestionInfo, span: Span) -> bool:
    if info.qtype == "number" and info.unit is not None:
        if info.unit == "个":  # the all-purpose classifier: "几个孩子" is answered by "3名子女"
            return unit_class(span.unit) in COUNTABLE
        return unit_class(span.unit) == unit_class(info.unit)
    if info.qtype == "date":
        if info.granularity == "day":
            return "日" in span.text
        if info.granularity == "year":
            return "年" in span.text
    if info.roles and info.qtype in ("person", "org"):
        return bool(set(span.roles) & set(info.roles))
    return True


def best_span(
    info: QuestionInfo,
    sentence: str,
    norm: str,
    weights: dict[str, float],
    title: str,
    slot: Slot | None,
) -> tuple[Span | None, bool]:
    """The span nearest the question's words, preferring one that fits; and whether it fits."""
    if not info.wants_span:
        return None, False
    # A figure the question itself states ("20个方向里有几个…") is not its answer.
    spans = [sp for sp in spans_for(info.qtype, sentence) if not _restates(info, sp)]
    framed = _framed(info, sentence, slot)
    if not spans:
        return (framed, True) if framed else (None, False)
    words = [t for t in info.focus or info.terms if len(t) >= 2] or list(info.terms)
    anchors = {t: occurrences(t, norm) for t in words}
    # A word the sentence puts otherwise ("老师" / "师从") still anchors by its longest part.
    partial = {t: longest_part(t, norm) for t, places in anchors.items() if not places}
    anchors.update({p: occurrences(p, norm) for p in partial.values() if p})
    weights = {**weights, **{p: 0.5 * weights.get(t, 1.0) for t, p in partial.items() if p}}

    def distance(span: Span, clause: int | None, s: int, e: int) -> float:
        # Chinese puts the predicate before the figure ("泊位达到6个"): a span just after a
        # word is closer than one just before it. But a date heading its clause ("1970年，
        # 在…取得学位，1975年…"; ``clause``: where that clause ends) dates that clause: the
        # words in it are next to it, and those before it belong to the clause before.
        if clause is not None:
            if span.end <= s and e <= clause:
                return 1.0
            if e <= span.start:
                return 1.5 * (span.start - e) + 1
        return span.start - e if span.start >= e else 1.5 * max(s - span.end, 0) + 1

    def closeness(span: Span) -> float:
        # Each question word pulls the span by its IDF, less with distance. The article's
        # subject recurs all over it, and a word said several times in the sentence pins no
        # one place: both pull less.
        heads = span.kind == "date" and norm[span.end : span.end + 1] in COMMAS
        clause = _clause_end(norm, span.end + 1) if heads else None
        pull = 0.0
        for t, places in anchors.items():
            if places:
                d = min(distance(span, clause, s, e) for s, e in places)
                weight = weights.get(t, 1.0) / len(places) * (0.3 if t in title else 1.0)
                pull += weight / (1 + d / 4)
        return (
            pull
            + (SLOT_PULL if slot is not None and _overlaps(span, slot) else 0.0)
            - (0 if fits(info, span) else 1000)
            - (500 if _asked_about(info, span) else 0)
        )

    # Of spans that start alike, the longer says more ("浙江省杭州市" rather than "浙江省").
    best = max(spans, key=lambda span: (closeness(span), len(span.text)))
    fitting = fits(info, best)
    if framed and (not fitting or _asked_about(info, best) or not _overlaps(best, framed)):
        return framed, True
    return best, fitting


def longest_part(word: str, text: str) -> str | None:
    """The longest proper part of ``word`` that occurs in ``text``."""
    for n in range(len(word) - 1, 0, -1):
        for i in range(len(word) - n + 1):
            if word[i : i + n] in text:
                return word[i : i + n]
    return None


def _framed(info: QuestionInfo, sentence: str, slot: Slot | None) -> Span | None:
    """The slot as the answer to a who/which/where question: the question's frame is better
    evidence than a name tagger that misses transliterations, titles and organisations."""
    if slot is None or not slot.whole or info.qtype not in ("person", "org", "place"):
        return None
    span = Span(
        slot.start,
        slot.end,
        sentence[slot.start : slot.end],
        info.qtype,
        roles=roles_before(sentence, slot.start),
    )
    # "主任是谁" is not framed by "副主任…": a title just before the question word must be
    # the one the source gives ("接替谁担任局长" names the post, not the answer's title).
    titled = info.frame is not None and info.frame.before.rstrip("是为").endswith(info.roles)
    return span if info.qtype != "person" or not titled or fits(info, span) else None


def _overlaps(a: Span | Slot, b: Span | Slot) -> bool:
    return a.start < b.end and b.start < a.end


def _clause_end(text: str, start: int) -> int:
    """Where the clause from ``start`` ends: the next comma or sentence end, or the text's."""
    ends = [i for i in (text.find(c, start) for c in CLAUSE_BREAKS) if i >= 0]
    return min(ends, default=len(text))


def _restates(info: QuestionInfo, span: Span) -> bool:
    digits = re.findall(DECIMAL, span.text)
    return bool(digits) and all(d in info.numbers for d in digits)


def _asked_about(info: QuestionInfo, span: Span) -> bool:
    """A name the question itself gives ("某某的老师是谁") is what it asks about, not the
    answer; still, the clause around it may hold the answer, so it is kept as a last resort.
    So is a long span made mostly of the question's words, give or take a word ("城东图书馆
    获评第二批示范馆" for "城东图书馆获评示范馆，是哪个部门评定的")."""
    text, asked = normalize(span.text).lower(), info.text.lower()
    if text in asked:
        return True
    pairs = [text[i : i + 2] for i in range(len(text) - 1)]
    return len(pairs) >= ASKED_MIN_PAIRS and sum(p in asked for p in pairs) >= ASKED_SHARE * len(
        pairs
    )
