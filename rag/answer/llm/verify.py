"""Check a generated answer against the numbered sources it was given, sentence by sentence.

Common RAG stacks parse ``[n]`` markers but never check what the marked sentence says. Here
each sentence of the model's answer is

* **kept** when the sources it cites (or the question) hold all its numbers, dates and names;
* **flagged** — kept, with a warning — when verification had to fix its citations (it cited
  the wrong source or none, but a given source holds its facts), or when few of its words are
  in the source it cites;
* **dropped** when a number, date or name in it is in no given source: that is the
  hallucination a reader must never see.

Markers naming a source that was not given are removed. The surviving citations are
renumbered in order of first use, each backed by the sentence of its source that best
supports the sentences citing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rag.answer.llm.facts import Evidence, Fact, facts, words
from rag.answer.types import NOT_FOUND
from rag.text.chars import ELLIPSIS, HAN_ONE_TO_NINE, SENTENCE_END, char_class, has_han
from rag.text.sentences import split_sentences

Status = Literal["kept", "flagged", "dropped"]

# Below this share of its words in the cited source a sentence is flagged as loosely
# supported. A guess, not a measurement: faithful Chinese answers mostly reuse the source's
# words, so a sentence sharing less than half of them deserves a second look, not removal.
MIN_OVERLAP = 0.5

MARKER = re.compile(
    r"[\[［【]\s*(?:(?:资料|来源|source)\s*)?(\d{1,3}(?:\s*[,，、\-–]\s*\d{1,3})*)\s*[\]］】]",
    re.IGNORECASE,
)
# "…320家。[1]" cites like "…320家[1]。": move markers in front of the punctuation they follow.
_MARKERS_AFTER_END = re.compile(
    rf"({char_class(SENTENCE_END, '.')}+)((?:\s*{MARKER.pattern})+)", re.IGNORECASE
)
_LIST_PREFIX = re.compile(
    rf"^\s*(?:[-*•·]|\d{{1,2}}[.、)）]|[（(]?[{HAN_ONE_TO_NINE}十]{{1,2}}[)）、])\s*"
)
_EN_SENTENCE_END = re.compile(r"(?<=[a-z0-9%)\]])\.(?=\s)")
_NOT_FOUND = re.compile(
    rf"{NOT_FOUND}|资料中(?:没有|并未|未)(?:提及|提到|找到|涉及|说明)"
    r"|not (?:found|mentioned) in the (?:provided |given )?sources",
    re.IGNORECASE,
)
_END_PUNCT = SENTENCE_END + "." + ELLIPSIS


@dataclass(frozen=True, slots=True)
class Source:
    """One numbered source as the model saw it.

    ``text`` is what a citation quotes; ``title`` also counts as support (the model saw it);
    ``label`` names the source in warnings.
    """

    text: str
    title: str = ""
    label: str = ""


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str  # as the model wrote it, with its original markers
    status: Status
    sources: tuple[int, ...]  # the given sources it cites once verified
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Quote:
    """The span ``start:end`` of source ``source``'s text that backs one citation."""

    source: int
    start: int
    end: int


@dataclass(frozen=True)
class Verification:
    text: str  # the verified answer; its marker [i] is backed by quotes[i - 1]
    sentences: tuple[Sentence, ...]
    quotes: tuple[Quote, ...]
    removed_markers: tuple[int, ...]
    not_found: bool  # the model said the sources do not answer, and claimed nothing else

    def count(self, status: Status) -> int:
        return sum(1 for s in self.sentences if s.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "kept": self.count("kept"),
            "flagged": self.count("flagged"),
            "dropped": self.count("dropped"),
            "markers_removed": len(self.removed_markers),
        }

    @property
    def supported(self) -> bool:
        """Whether at least one surviving sentence cites a source."""
        return any(s.sources for s in self.sentences if s.status != "dropped")

    def warnings(self) -> tuple[str, ...]:
        out = []
        if self.removed_markers:
            marks = "".join(f"[{i}]" for i in dict.fromkeys(self.removed_markers))
            out.append(f"removed citation marker {marks}: no such source was given")
        for s in self.sentences:
            text = _short(_strip_markers(s.text))
            if s.status == "flagged":
                out.append(f"flagged (kept with a warning): “{text}” — {s.reason}")
            elif s.status == "dropped":
                out.append(f"dropped (removed from the answer): “{text}” — {s.reason}")
        return tuple(out)


def verify(answer: str, sources: Mapping[int, Source], question: str = "") -> Verification:
    """Verify ``answer`` (with ``[n]`` markers) against ``sources`` numbered as in the prompt."""
    checker = _Checker(sources, question)
    text = _MARKERS_AFTER_END.sub(lambda m: m.group(2).strip() + m.group(1), answer.strip())
    lines: list[tuple[str, list[tuple[str, Sentence]]]] = []
    for line in text.splitlines():
        prefix_match = _LIST_PREFIX.match(line)
        prefix = prefix_match.group(0) if prefix_match else ""
        body = line[len(prefix) :]
        lines.append((prefix, [(body[s:e], checker.check(body[s:e])) for s, e in _spans(body)]))
    sentences = [c for _, checked in lines for _, c in checked]
    alive = [c for c in sentences if c.status != "dropped"]
    order: dict[int, int] = {}
    for c in alive:
        for i in c.sources:
            order.setdefault(i, len(order) + 1)
    out_lines = []
    for prefix, checked in lines:
        kept = [_renumber(raw, c, order) for raw, c in checked if c.status != "dropped"]
        if kept:
            out_lines.append(prefix + ("" if has_han("".join(kept)) else " ").join(kept))
    said_not_found = any(_NOT_FOUND.search(_strip_markers(c.text)) for c in alive)
    return Verification(
        text="\n".join(out_lines),
        sentences=tuple(sentences),
        quotes=tuple(checker.quote(i, [c for c in alive if i in c.sources]) for i in order),
        removed_markers=tuple(checker.removed),
        not_found=said_not_found and not any(c.sources for c in alive),
    )


class _Checker:
    def __init__(self, sources: Mapping[int, Source], question: str) -> None:
        self.sources = sources
        self.evidence = {i: Evidence(f"{s.title}\n{s.text}") for i, s in sources.items()}
        self.question = Evidence(question)
        self.removed: list[int] = []

    def label(self, i: int) -> str:
        return self.sources[i].label or f"source {i}"

    def labels(self, ids: Iterable[int]) -> str:
        return "、".join(self.label(i) for i in ids)

    def check(self, raw: str) -> Sentence:
        marked = [i for m in MARKER.finditer(raw) for i in _ids(m)]
        cited = tuple(dict.fromkeys(i for i in marked if i in self.sources))
        self.removed += [i for i in marked if i not in self.sources]
        body = _strip_markers(raw)
        claims = facts(body)
        body_words = words(body)
        if _NOT_FOUND.search(body):
            return Sentence(raw, "kept", ())
        if not claims and (len(body_words) < 2 or body.endswith((":", "："))):
            return Sentence(raw, "kept", cited)  # framing ("根据资料："), nothing to check
        missing = [f for f in claims if not self._holds(f, cited)]
        if cited and not missing:
            share = max(self.evidence[i].overlap(body_words) for i in cited)
            if has_han(body) and share < MIN_OVERLAP:
                where = self.labels(cited)
                return Sentence(raw, "flagged", cited, f"few of its words are in {where}")
            return Sentence(raw, "kept", cited)
        if missing:
            return self._recite(raw, claims, missing, cited)
        return self._attach(raw, body, body_words)

    def _holds(self, fact: Fact, ids: Iterable[int]) -> bool:
        return self.question.holds(fact) or any(self.evidence[i].holds(fact) for i in ids)

    def _recite(
        self, raw: str, claims: list[Fact], missing: list[Fact], cited: tuple[int, ...]
    ) -> Sentence:
        """Cite the given sources that hold the sentence's facts, or drop it if none do."""
        need = [f for f in claims if not self.question.holds(f)]
        chosen = [i for i in cited if any(self.evidence[i].holds(f) for f in need)]
        left = [f for f in need if not self._holds(f, chosen)]
        while left:
            rest = [i for i in self.sources if i not in chosen]
            best = max(rest, key=lambda i: self._held(left, i), default=None)
            if best is None or self._held(left, best) == 0:
                where = f"the cited {self.labels(cited)}" if cited else "any given source"
                return Sentence(raw, "dropped", cited, f"{_facts(left)} not in {where}")
            chosen.append(best)
            left = [f for f in left if not self.evidence[best].holds(f)]
        found = f"{_facts(missing)} is in {self.labels(i for i in chosen if i not in cited)}"
        if cited:
            reason = f"{found}, not in the cited {self.labels(cited)}: citation corrected"
        else:
            reason = f"it had no citation; {found}: citation added"
        return Sentence(raw, "flagged", tuple(chosen), reason)

    def _held(self, claims: Sequence[Fact], i: int) -> int:
        return sum(1 for f in claims if self.evidence[i].holds(f))

    def _attach(self, raw: str, body: str, body_words: list[str]) -> Sentence:
        """A sentence without citation and without facts: cite the source that says it."""
        if not has_han(body):
            # An English answer over Chinese sources cannot be compared word by word.
            return Sentence(raw, "flagged", (), "it has no citation and cannot be checked")
        best = max(self.sources, key=lambda i: self.evidence[i].overlap(body_words), default=None)
        if best is not None and self.evidence[best].overlap(body_words) >= MIN_OVERLAP:
            reason = f"it had no citation; its words are in {self.label(best)}: citation added"
            return Sentence(raw, "flagged", (best,), reason)
        if self.question.overlap(body_words) >= MIN_OVERLAP:
            return Sentence(raw, "kept", ())  # restates the question
        return Sentence(raw, "dropped", (), "it has no citation and its words are in no source")

    def quote(self, i: int, citing: Sequence[Sentence]) -> Quote:
        """The sentence of source ``i`` that best supports the sentences citing it."""
        text = self.sources[i].text
        spans = split_sentences(text) or [(0, len(text))]
        claims = [(facts(b), words(b)) for b in (_strip_markers(c.text) for c in citing)]

        def support(span: tuple[int, int]) -> float:
            evidence = Evidence(text[span[0] : span[1]])
            return max(
                (
                    2 * sum(evidence.holds(f) for f in fs) + evidence.overlap(ws)
                    for fs, ws in claims
                ),
                default=0.0,
            )

        start, end = max(spans, key=support)
        return Quote(i, start, end)


def _spans(text: str) -> list[tuple[int, int]]:
    """Sentences of Chinese or English text (``split_sentences`` does not split at ". ")."""
    out = []
    for s, e in split_sentences(text):
        start = s
        for m in _EN_SENTENCE_END.finditer(text, s, e):
            out.append((start, m.end()))
            start = m.end()
        while start < e and text[start].isspace():
            start += 1
        if start < e:
            out.append((start, e))
    return out


def _ids(marker: re.Match[str]) -> list[int]:
    """Source numbers of one marker: "[1]", "[1, 3]", "[2-4]"."""
    out: list[int] = []
    for part in re.split(r"\s*[,，、]\s*", marker.group(1)):
        lo, _, hi = re.sub(r"\s", "", part).replace("–", "-").partition("-")
        if hi and int(hi) - int(lo) < 10:
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(lo))
    return out


def _renumber(raw: str, sentence: Sentence, order: Mapping[int, int]) -> str:
    """The sentence with its markers renumbered; markers moved to its end if they changed."""
    marked = [i for m in MARKER.finditer(raw) for i in _ids(m)]
    if tuple(dict.fromkeys(i for i in marked if i in order)) == sentence.sources:
        return MARKER.sub(
            lambda m: "".join(f"[{order[i]}]" for i in dict.fromkeys(_ids(m)) if i in order), raw
        ).strip()
    body = _strip_markers(raw)
    end = len(body.rstrip(_END_PUNCT))
    return body[:end] + "".join(f"[{order[i]}]" for i in sentence.sources) + body[end:]


def _strip_markers(text: str) -> str:
    return re.sub(rf"\s*{MARKER.pattern}", "", text, flags=re.IGNORECASE).strip()


def _facts(claims: Sequence[Fact]) -> str:
    return "、".join(f"“{f.text}”" for f in claims)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
