"""How much of the chosen sentence to quote: the clause run around the span that reads as a
whole answer (long enough, naming what the question names, with its qualifiers and lists)."""

from __future__ import annotations

import re

from rag.answer.reader.answer_spans import Span
from rag.answer.reader.features import METHOD_CUE
from rag.answer.reader.question import QuestionInfo
from rag.answer.reader.question_words import RESPECTIVELY
from rag.text.chars import CLAUSE_END, CLOSER_OF, COLONS, OPENERS, SEMICOLONS
from rag.text.normalize import normalize
from rag.text.sentences import split_clauses, split_sentences

# A sentence that opens with a consequence ("因此它被称为某某果"), or gives no cause at all,
# answers "why" together with the sentence before it, where narration puts the cause.
_CONSEQUENCE = re.compile(r"^[“\"「]?(?:因此|因而|所以|于是|故而|故|从而|遂|结果|由此|为此)")
# A sentence that asks: it ends with a question mark (before a closing quotation mark).
_ASKS = re.compile(r"[？?][”’」\"]?\s*$")
# A sentence that opens by answering the one before: what was done about it.
_RESPONSE = re.compile(r"\s*(?:为此|对此|为解决|为了解决|针对(?:这|此|上述))")
_CAUSE = re.compile(r"因为|由于|之所以|原因|为了|以便|以免|缘于|源于|出于|鉴于")
MIN_ANSWER_CHARS = 12
MAX_ANSWER_CHARS = 120
MAX_LIST_CHARS = 240  # a list question's quote may run on over items chained by semicolons
TRAILING = CLAUSE_END  # trimmed from the end of a quote
# A clause that qualifies or spells out the one before ("…在多地有售，但南方的产量仍然不足",
# "…销往华东地区，包括甲省、乙省…") belongs to the answer.
_CONTINUATION = re.compile(r"\s*(?:但|不过|然而|却|包括|其中|例如|比如|如(?![今何])|即|分别)")


def answer_window(
    info: QuestionInfo, text: str, start: int, end: int, span: Span | None
) -> tuple[int, int]:
    """The part of the sentence ``text[start:end]`` to quote: the clause run around the span
    (offsets within the sentence), or the densest run when there is none."""
    clauses = split_clauses(text, start, end, items=False)
    if span is None:
        if end - start <= MAX_ANSWER_CHARS:
            return trim_quote(text, start, end)
        return trim_quote(text, *_densest(info, text, clauses))
    s, e = start + span.start, start + span.end
    i = next(k for k, (cs, ce) in enumerate(clauses) if cs <= s < ce)
    j = next((k for k, (cs, ce) in enumerate(clauses) if cs < e <= ce), i)
    # Widen to a readable answer, towards the neighbour that shares more of the question.
    while clauses[j][1] - clauses[i][0] < MIN_ANSWER_CHARS and (i > 0 or j + 1 < len(clauses)):
        left = _clause_hits(info, text, clauses[i - 1]) if i > 0 else -1
        right = _clause_hits(info, text, clauses[j + 1]) if j + 1 < len(clauses) else -1
        if left >= right:
            i -= 1
        else:
            j += 1
    # A neighbouring clause that names more of the question ("根据去年年底的统计，" before
    # "会员总数为1200人"; "…自3月1日起，" before "…暂停营业") makes the answer say what it answers.
    while True:
        seen = normalize(text[clauses[i][0] : clauses[j][1]]).lower()
        left = _clause_hits(info, text, clauses[i - 1], seen) if i > 0 else 0
        right = _clause_hits(info, text, clauses[j + 1], seen) if j + 1 < len(clauses) else 0
        if left and left >= right and _fits_window(clauses, i - 1, j):
            i -= 1
        elif right and _fits_window(clauses, i, j + 1):
            j += 1
        else:
            break
    # An enumeration ("销往甲省、乙省、丙省") is one answer: never cut it after an item.
    respectively = bool(RESPECTIVELY.search(info.text))
    while i > 0 and _enumerates(text, clauses[i - 1]) and _fits_window(clauses, i - 1, j):
        i -= 1
    # So is what a colon announces ("引进了三家企业：甲、乙以及丙").
    while (
        j + 1 < len(clauses)
        and (
            _enumerates(text, clauses[j])
            or _announces(text, clauses[j])
            or _continues(text, clauses[j + 1])
            or respectively
        )
        and _fits_window(clauses, i, j + 1)
    ):
        j += 1
    return trim_quote(text, clauses[i][0], clauses[j][1])


def _announces(text: str, clause: tuple[int, int]) -> bool:
    return text[clause[1] - 1] in COLONS


def with_items(text: str, sentence: tuple[int, int], window: tuple[int, int]) -> tuple[int, int]:
    """For a list question: the quote, run on over the sentences that a semicolon chains to
    the chosen one ("任务有三项：一是…；二是…；三是…。"), when it reaches the sentence's end."""
    start, end = window
    if end < sentence[1] - 1 or text[sentence[1] - 1] not in SEMICOLONS + COLONS:
        return window
    for s, e in split_sentences(text):
        if s < sentence[1]:
            continue
        if e - start > MAX_LIST_CHARS:
            break
        end = e
        if text[e - 1] not in SEMICOLONS:
            break
    return trim_quote(text, start, end)


def _enumerates(text: str, clause: tuple[int, int]) -> bool:
    return text[clause[1] - 1] == "、"


def _continues(text: str, clause: tuple[int, int]) -> bool:
    return bool(_CONTINUATION.match(text, clause[0], clause[1]))


def _fits_window(clauses: list[tuple[int, int]], i: int, j: int) -> bool:
    return clauses[j][1] - clauses[i][0] <= MAX_ANSWER_CHARS


def _clause_hits(info: QuestionInfo, text: str, clause: tuple[int, int], seen: str = "") -> int:
    """How many of the question's words the clause names (those not already ``seen``)."""
    window = normalize(text[clause[0] : clause[1]]).lower()
    return sum(1 for t in info.terms if t in window and t not in seen)


def _densest(info: QuestionInfo, text: str, clauses: list[tuple[int, int]]) -> tuple[int, int]:
    best, best_hits = (clauses[0][0], min(clauses[-1][1], clauses[0][0] + MAX_ANSWER_CHARS)), -1
    for i in range(len(clauses)):
        j = i
        while j + 1 < len(clauses) and clauses[j + 1][1] - clauses[i][0] <= MAX_ANSWER_CHARS:
            j += 1
        hits = _clause_hits(info, text, (clauses[i][0], clauses[j][1]))
        if hits > best_hits:
            best, best_hits = (clauses[i][0], clauses[j][1]), hits
    return best


def trim_quote(text: str, s: int, e: int) -> tuple[int, int]:
    """Drop a dangling opening quote and trailing commas from a quote (still verbatim)."""
    while e > s and text[e - 1] in TRAILING:
        e -= 1
    if s < e and text[s] in OPENERS:
        closer = CLOSER_OF.get(text[s], text[s])
        if closer not in text[s + 1 : e]:
            s += 1
    return s, e


def with_cause(text: str, sentence: tuple[int, int], window: tuple[int, int]) -> tuple[int, int]:
    """For a "why" question: the quote, extended back over the sentence before when the
    chosen sentence states only the consequence."""
    start, end = sentence
    if not _consequence_only(text[start:end]):
        return window
    before = [s for s, e in split_sentences(text) if e <= start]
    return (before[-1], window[1]) if before else window


def with_response(text: str, sentence: tuple[int, int], window: tuple[int, int]) -> tuple[int, int]:
    """For a "how" question: the quote, run on over the next sentence when the chosen one
    states the problem and the next answers it ("…出现卡顿。为此，县里…")."""
    start, end = sentence
    if METHOD_CUE.search(text, start, end):
        return window
    after = next(((s, e) for s, e in split_sentences(text) if s >= end), None)
    if after is None or not _RESPONSE.match(text, after[0], after[1]):
        return window
    return trim_quote(text, window[0], after[1])


def with_reply(text: str, sentence: tuple[int, int], window: tuple[int, int]) -> tuple[int, int]:
    """When the chosen sentence is itself a question ("游客多了，景区如何避免排长队？"), the text
    answers it in the sentence after: the quote runs on over that one."""
    start, end = sentence
    if not _ASKS.search(text, start, end):
        return window
    after = next(((s, e) for s, e in split_sentences(text) if s >= end), None)
    return trim_quote(text, window[0], after[1]) if after else window


def _consequence_only(sentence: str) -> bool:
    return bool(_CONSEQUENCE.match(sentence)) or not _CAUSE.search(sentence)
