"""The answer's shape: the short answer the question asks for, inside the quoted sentence.

- which/who/where and number/date questions: the span of the asked type; when the sentence
  only refers back ("这里", "该区"), the name of that type in the sentences before it or in
  the title;
- list questions (哪些, 哪几家, 哪六大, 分别是): the whole enumeration (every item, up to the
  last one joined by 和/及/与);
- why and how questions: the clause that gives the cause or the method;
- other "what" questions: the slot the question's frame points at, when it reads whole.

A short answer is its text and its offsets in the paragraph (``None`` when it comes from
the title); no short answer means the quote itself is the answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.answer.reader.answer_spans import Span, org_spans, person_spans, place_spans
from rag.answer.reader.features import ANAPHOR, CAUSE_CUE, METHOD_CUE, Candidate, coverage
from rag.answer.reader.question import QuestionInfo
from rag.answer.reader.quote_extent import trim_quote
from rag.text.chars import CLAUSE_END, ENUMERATION_COMMA, STOPS, char_class
from rag.text.sentences import split_clauses

MAX_SLOT_CHARS = 40  # a framed slot longer than this is not a short answer
_ITEM = char_class(CLAUSE_END, STOPS, "“”《》", negate=True)
# An enumeration: items joined by 、, the last one optionally by 和/及/与/以及.
_ENUMERATION = re.compile(
    rf"{_ITEM}{{1,24}}?(?:{ENUMERATION_COMMA}{_ITEM}{{1,24}}?)+(?:(?:以及|和|及|与){_ITEM}{{1,24}}?)?"
    rf"(?={char_class(CLAUSE_END, STOPS)}|等|$)"
)
_LEAD = re.compile(
    r"^(?:包括|包含|涵盖|分别是|分别为|分别|有|是|为|即|如|在|以|覆盖|涉及|聚焦|布局)+"
)
_BY_TYPE = {"org": org_spans, "place": place_spans, "person": person_spans}


@dataclass(frozen=True, slots=True)
class Short:
    text: str
    span: tuple[int, int] | None  # in the paragraph; None: taken from the article title


def short_answer(info: QuestionInfo, c: Candidate) -> Short | None:
    """The short answer in candidate ``c``, if it has one."""
    found = _short_offsets(info, c)
    if found is None:
        return None
    if isinstance(found, str):
        return Short(found, None)
    return Short(c.paragraph.text[found[0] : found[1]], found)


def _short_offsets(info: QuestionInfo, c: Candidate) -> tuple[int, int] | str | None:
    sentence = c.sentence
    if info.listing:
        # A list is answered by its items: a count or one name of the sentence ("三项") is
        # not, so without an enumeration the quote (extended over the items) answers.
        found = _enumeration(info, sentence)
        return (c.start + found[0], c.start + found[1]) if found else None
    if info.reason or info.method:
        clause = _clause_with(sentence, CAUSE_CUE if info.reason else METHOD_CUE)
        return (c.start + clause[0], c.start + clause[1]) if clause else None
    if c.span is not None and c.fits:
        return c.start + c.span.start, c.start + c.span.end
    if info.qtype in _BY_TYPE and ANAPHOR.search(sentence):
        found_before = _named_before(info, c)
        if found_before:
            return found_before
    if c.span is not None:
        return c.start + c.span.start, c.start + c.span.end
    slot = c.slot
    framed = slot is not None and slot.whole and 0 < slot.end - slot.start <= MAX_SLOT_CHARS
    if info.qtype == "other" and slot is not None and framed:
        return c.start + slot.start, c.start + slot.end
    return None


def _enumeration(info: QuestionInfo, sentence: str) -> tuple[int, int] | None:
    """The enumeration of the sentence with most items, nearest the question's words."""
    best: tuple[float, int, int] | None = None
    for m in _ENUMERATION.finditer(sentence):
        s, e = m.start(), m.end()
        lead = _LEAD.match(sentence, s, e)
        if lead:
            s = lead.end()
        items = sentence.count(ENUMERATION_COMMA, s, e) + 1
        named = sum(1 for t in info.focus or info.terms if t in sentence[max(0, s - 12) : s])
        score = items + named
        if best is None or score > best[0]:
            best = (score, s, e)
    return (best[1], best[2]) if best else None


def _clause_with(sentence: str, cue: re.Pattern[str]) -> tuple[int, int] | None:
    """The clause run from the cue word to the end of its clause ("由于…，" / "通过…，")."""
    m = cue.search(sentence)
    if m is None:
        return None
    for s, e in split_clauses(sentence, 0, len(sentence), items=False):
        if s <= m.start() < e:
            end = e
            while end > m.start() and sentence[end - 1] in CLAUSE_END + STOPS:
                end -= 1
            return m.start(), end
    return None


def _named_before(info: QuestionInfo, c: Candidate) -> tuple[int, int] | str | None:
    """The name "这里" and "该区" refer to: the last one of the asked type before the sentence
    in its paragraph, else the one in the article's title."""
    extract = _BY_TYPE[info.qtype]
    asked = info.text.lower()

    def names(text: str) -> list[Span]:
        return [s for s in extract(text) if s.text.lower() not in asked and len(s.text) >= 2]

    before = names(c.paragraph.text[: c.start])
    if before:
        last = max(before, key=lambda s: s.end)
        return last.start, last.end
    titled = names(c.article.title)
    return titled[0].text if titled else None


def answer_shape(info: QuestionInfo) -> str:
    """What the question asks for: every item of a list, a cause, a method, or one thing."""
    return "list" if info.listing else "why" if info.reason else "how" if info.method else "one"


def question_class(info: QuestionInfo) -> str:
    """The class the fit reports extents per: the asked type and the answer's shape."""
    return f"{info.qtype}/{answer_shape(info)}"


def extents(info: QuestionInfo, c: Candidate, quote: tuple[int, int]) -> dict[str, Short]:
    """The answer said at each extent (how much of the source it says): ``short``, the short
    answer; ``clause``, the clause holding it; ``quote``, the whole quote."""
    text = c.paragraph.text
    whole = Short(text[quote[0] : quote[1]], quote)
    short = short_answer(info, c)
    if short is None:
        return {"short": whole, "clause": whole, "quote": whole}
    if short.span is None:
        return {"short": short, "clause": short, "quote": whole}
    s, e = short.span
    clauses = split_clauses(text, c.start, c.end, items=False)
    cs = next((a for a, b in clauses if a <= s < b), s)
    ce = next((b for a, b in clauses if a < e <= b), e)
    while ce > cs and text[ce - 1] in CLAUSE_END + STOPS:
        ce -= 1
    # Like the quote, the clause drops an opening quotation mark it does not close.
    cs, ce = trim_quote(text, cs, ce)
    cs, ce = min(cs, s), max(ce, e)
    return {"short": short, "clause": Short(text[cs:ce], (cs, ce)), "quote": whole}


# What the extent chooser weighs (``rag fit-reader`` fits one linear model per extent).
QUESTION_TYPES = ("number", "date", "duration", "person", "org", "place", "other")
SHAPES = ("one", "list", "why", "how")
EXTENT_FEATURES: tuple[str, ...] = (
    *(f"type_{t}" for t in QUESTION_TYPES),  # the asked type
    *(f"shape_{s}" for s in SHAPES),  # the answer's shape
    "english",  # the question has no Han characters
    "has_short",  # a short answer differs from the quote
    "short_from_title",  # ... and comes from the article title
    "span_fits",  # the sentence's span is of the asked type, unit and precision
    "has_span",  # the sentence holds a span of the asked type
    "bare_number",  # ... a figure without its unit ("860万" of "860万标准箱")
    "short_chars",  # log(1 + characters) of the short answer
    "clause_chars",  # ... of its clause
    "quote_chars",  # ... of the quote
    "short_share",  # the short answer's length over the quote's
    "clause_share",  # the clause's length over the quote's
    "short_in_question",  # share of the short answer's characters found in the question
    "clause_in_question",  # ... of the clause's
    "clause_terms",  # share of the question's words in the clause
    "quote_terms",  # ... in the quote
    "slot",  # the sentence's features (``SENTENCE_FEATURES``) that bear on the answer's shape
    "slot_whole",
    "focus",
    "proximity",
    "lex_sentence",
    "enum",
)


def extent_features(info: QuestionInfo, c: Candidate, shown: dict[str, Short]) -> dict[str, float]:
    """The extent chooser's features for answering with candidate ``c`` at each of ``shown``."""
    short, clause, quote = shown["short"].text, shown["clause"].text, shown["quote"].text
    kind = answer_shape(info)
    values = {f"type_{t}": float(info.qtype == t) for t in QUESTION_TYPES}
    values |= {f"shape_{s}": float(kind == s) for s in SHAPES}
    values |= {
        "english": float(info.english),
        "has_short": float(short != quote),
        "short_from_title": float(shown["short"].span is None),
        "span_fits": float(c.fits),
        "has_span": float(c.span is not None),
        "bare_number": float(c.span is not None and c.span.kind == "number" and not c.span.unit),
        "short_chars": math.log1p(len(short)),
        "clause_chars": math.log1p(len(clause)),
        "quote_chars": math.log1p(len(quote)),
        "short_share": len(short) / max(1, len(quote)),
        "clause_share": len(clause) / max(1, len(quote)),
        "short_in_question": _share_in(short, info.text),
        "clause_in_question": _share_in(clause, info.text),
        "clause_terms": coverage(info.terms, clause),
        "quote_terms": coverage(info.terms, quote),
    }
    for name in ("slot", "slot_whole", "focus", "proximity", "lex_sentence", "enum"):
        values[name] = c.values.get(name, 0.0)
    return values


def _share_in(text: str, other: str) -> float:
    return sum(ch in other for ch in text) / len(text) if text else 0.0
