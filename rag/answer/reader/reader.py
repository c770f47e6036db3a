"""The default offline answerer: pick the sentence and the span that answer the question.

It reads the paragraphs of the top hits sentence by sentence and scores each sentence by
how much of the question it covers (IDF-weighted, with extra weight on the words next to
the question word), by whether it holds a span of the asked type (a number in the asked
unit, a date, a name after the asked title…) and by retrieval rank. It answers with the
shortest clause run around the best span and cites it.

It abstains when the best sentence does not support the question: too little of the
question is covered, the span of the asked type is missing, or the question names a place,
organisation or number that the source does not mention ("near misses": the entity is in
the corpus but the asked fact is not).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.answer.reader.answer_spans import Span
from rag.answer.reader.question import QuestionInfo, analyse
from rag.answer.reader.question_frame import Slot, find_slot
from rag.answer.reader.quote_extent import TRAILING, answer_window, with_cause
from rag.answer.reader.span_ranking import best_span, longest_part, strict
from rag.answer.types import Answer, StreamEvent, abstain, make_citation, stream_finished
from rag.index.lexical import UNSEEN
from rag.index.store import Store
from rag.ingest.chunking import Chunk
from rag.ingest.documents import Article, Paragraph
from rag.search.retrieval import Hit
from rag.text.chars import CLAUSE_END, ELLIPSIS, STOPS, char_class
from rag.text.normalize import fold, normalize
from rag.text.sentences import split_sentences

_ENDS_SENTENCE = re.compile(f"{char_class(STOPS, ELLIPSIS)}$")

# Scores a batch of sentences against the question by meaning (cosine similarity);
# used where words cannot match, i.e. for questions in another language than the sources.
SentenceScorer = Callable[[str, Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    rank: int
    paragraph: Paragraph
    start: int  # sentence span in the paragraph text
    end: int
    lexical: float  # how much of the question the sentence and its context cover, 0..1
    penalty: float  # 1, or less when the sentence cannot hold the asked fact
    span: Span | None
    fits: bool  # the span has the asked unit, title or date precision
    score: float  # for choosing the sentence (not a probability)
    meaning: float = 0.0  # embedding similarity to the question, scaled to 0..1
    slot: Slot | None = None  # where the question's frame puts the answer in the sentence

    @property
    def support(self) -> float:
        """How well this sentence answers the question, 0..1; the answerer abstains below
        its threshold. Meaning carries paraphrases that share few words with the source."""
        return max(self.lexical, self.meaning) * self.penalty


# e5 cosine similarities, scaled to 0..1 over the range where they separate: a Chinese
# question scores about 0.80 against unrelated passages and above 0.90 against the one that
# answers it; across languages (English question, Chinese source) everything is ~0.1 lower.
SEMANTIC_RANGE = (0.85, 0.97)
CROSS_LINGUAL_RANGE = (0.74, 0.82)
CROSS_LINGUAL_SOURCES = 3


def _scale(value: float, lo: float, hi: float) -> float:
    return min(max((value - lo) / (hi - lo), 0.0), 1.0)


class ExtractiveAnswerer:
    """Offline answerer; abstains when the best sentence's support is below ``threshold``."""

    def __init__(
        self,
        threshold: float = 0.3,
        max_sources: int = 5,
        scorer: SentenceScorer | None = None,
        query_vector: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        self.threshold = threshold
        self.max_sources = max_sources
        self.scorer = scorer
        self.query_vector = query_vector

    def stream(self, question: str, hits: Sequence[Hit], store: Store) -> Iterator[StreamEvent]:
        return stream_finished(self.answer(question, hits, store))

    def answer(self, question: str, hits: Sequence[Hit], store: Store) -> Answer:
        info = analyse(question)
        candidates = self.candidates(info, hits, store)
        if not candidates:
            return abstain(question, hits, store, info)
        best = max(candidates, key=lambda c: c.score)
        if best.support < self.threshold:
            return abstain(question, hits, store, info, support=best.support)
        start, end = answer_window(info, best.paragraph.text, best.start, best.end, best.span)
        if info.reason:
            start, end = with_cause(best.paragraph.text, (best.start, best.end), (start, end))
        citation = make_citation(1, best.hit, best.paragraph, start, end)
        text = best.paragraph.text[start:end].rstrip(TRAILING)
        answer = text + "[1]" + ("" if _ENDS_SENTENCE.search(text) else "。")
        return Answer(
            question=question,
            answer=answer,
            answered=True,
            mode="extractive",
            citations=(citation,),
            support=best.support,
        )

    def candidates(self, info: QuestionInfo, hits: Sequence[Hit], store: Store) -> list[_Candidate]:
        """Every sentence of the top hits' paragraphs, scored."""
        out: list[_Candidate] = []
        idf = store.idf(info.terms)
        for rank, hit in enumerate(hits[: self.max_sources], start=1):
            article = store.article(hit.chunk.doc_id)
            if article is not None:
                out.extend(_score_paragraph(info, hit, rank, article, idf))
        if not out:
            return out
        if info.english and self.scorer is not None:
            # Embedding sentences costs a model call each: only the top paragraphs'.
            return self._rescore_by_meaning(
                info, [c for c in out if c.rank <= CROSS_LINGUAL_SOURCES]
            )
        if self.query_vector is not None:
            return _add_meaning(out, self.query_vector(info.text), store)
        return out

    def _rescore_by_meaning(self, info: QuestionInfo, cands: list[_Candidate]) -> list[_Candidate]:
        """Across languages words cannot match: rank sentences by embedding similarity."""
        assert self.scorer is not None
        sims = self.scorer(info.text, [c.paragraph.text[c.start : c.end] for c in cands])
        out = []
        for c, sim in zip(cands, sims, strict=True):
            score = float(sim) + (0.02 if c.fits else 0.01 if c.span else 0.0) + 0.01 / c.rank
            out.append(replace(c, score=score, meaning=_scale(float(sim), *CROSS_LINGUAL_RANGE)))
        return out


def _add_meaning(cands: list[_Candidate], query: np.ndarray, store: Store) -> list[_Candidate]:
    """Give each sentence the similarity of its chunk to the question (no model call: the
    chunk vectors are in the index) and let meaning count in choosing the sentence."""
    sims: dict[str, float] = {}
    paragraphs: dict[tuple[str, int], list[Chunk]] = {}
    for c in cands:
        key = (c.hit.chunk.doc_id, c.paragraph.index)
        if key not in paragraphs:
            paragraphs[key] = store.paragraph_chunks(*key)
    every = [ch.chunk_id for chunks in paragraphs.values() for ch in chunks]
    if every:
        sims = dict(zip(every, (store.chunk_vectors(every) @ query).tolist(), strict=True))
    out = []
    for c in cands:
        best = None
        for chunk in paragraphs[(c.hit.chunk.doc_id, c.paragraph.index)]:
            if chunk.offset < c.end and c.start < chunk.offset + len(chunk.text):
                sim = sims[chunk.chunk_id]
                best = sim if best is None else max(best, sim)
        meaning = 0.0 if best is None else _scale(best, *SEMANTIC_RANGE)
        out.append(replace(c, meaning=meaning, score=c.score + meaning))
    return out


def _score_paragraph(
    info: QuestionInfo, hit: Hit, rank: int, article: Article, idf: dict[str, float]
) -> list[_Candidate]:
    paragraph = article.paragraph(hit.chunk.paragraph)
    context = normalize(f"{article.title} {paragraph.section or ''} {paragraph.text}").lower()
    weights = {t: idf.get(t, idf[UNSEEN]) for t in info.terms}
    total = sum(weights.values()) or 1.0
    in_context = sum(w for t, w in weights.items() if t in context) / total
    # Near-miss guard: the places, organisations and dates the question names must occur in
    # the article, and its quantities in the paragraph: asking about "2022年" when only
    # "2023年" is given means the fact is not there.
    whole, aliases = _article_text(article)
    title = normalize(article.title).lower()
    penalty_missing = 1.0
    for name in info.entities:
        if normalize(name).lower() not in whole:
            # Unknown to the whole corpus: surely another subject; elsewhere in the corpus:
            # maybe just context the article leaves out (the newspaper's own name, say).
            penalty_missing = min(penalty_missing, 0.6 if name in idf else 0.3)
    if any(d not in whole for d in info.dates) or any(n not in context for n in info.numbers):
        penalty_missing = min(penalty_missing, 0.3)
    out = []
    previous = ""
    for s, e in split_sentences(paragraph.text):
        sentence = paragraph.text[s:e]
        norm = normalize(sentence).lower()
        # A short name defined earlier ("皓天科技") stands for the full one it abbreviates.
        norm += "".join(f" {full}" for short, full in aliases if short in norm)
        # News sentences lean on the one before ("该项目总投资2.2亿元"): its words count half.
        in_sentence = (
            sum(w if t in norm else 0.5 * w if t in previous else 0.0 for t, w in weights.items())
            / total
        )
        # The article's subject is implicit in each of its sentences: title words cannot tell
        # them apart, so they count as present in every one when choosing.
        # A word the sentence puts otherwise ("树叶" / "其叶", "担任" / "任") counts in part.
        choosing = (
            sum(
                w if t in norm or t in title else 0.5 * w if t in previous else w * _part(t, norm)
                for t, w in weights.items()
            )
            / total
        )
        previous = norm
        focus = _coverage(info.focus, norm)
        focus_choosing = _coverage(info.focus, f"{norm} {title}")
        slot = find_slot(info.frame, fold(sentence)) if info.frame else None
        span, fits = best_span(info, sentence, norm, weights, title, slot)
        penalty = penalty_missing
        if info.wants_span and not fits:
            penalty *= 0.25 if span is None or strict(info) else 0.7
        in_chunk = hit.chunk.offset <= s < hit.chunk.offset + len(hit.chunk.text)
        figures = info.dates + info.numbers
        named = sum(d in norm for d in figures) / len(figures) if figures else 0.0
        score = (
            choosing
            + 0.5 * in_context
            + 0.7 * focus_choosing
            + 0.3 / rank
            + (0.4 if fits else 0.15 if span else 0.0)
            + (0.1 if in_chunk else 0.0)
            + 0.3 * named
        )
        lexical = 0.0 if info.english else 0.4 * in_sentence + 0.3 * in_context + 0.3 * focus
        out.append(
            _Candidate(hit, rank, paragraph, s, e, lexical, penalty, span, fits, score, slot=slot)
        )
    return out


_NAMED = char_class(CLAUSE_END, "。“”", negate=True, also=r"\s")  # a name holds no punctuation
_ALIAS = re.compile(rf"({_NAMED}{{2,40}}?)[（(]以下简称[“\"]?([^”\"）)]{{2,20}})[”\"]?[）)]")
_article_cache: dict[int, tuple[Article, str, tuple[tuple[str, str], ...]]] = {}


def _article_text(article: Article) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The article's normalised text and its abbreviations ("以下简称…"), cached."""
    cached = _article_cache.get(id(article))
    if cached is not None and cached[0] is article:
        return cached[1], cached[2]
    text = normalize(article.title + " " + " ".join(p.text for p in article.paragraphs)).lower()
    aliases = tuple(
        dict.fromkeys((m.group(2).lower(), m.group(1).lower()) for m in _ALIAS.finditer(text))
    )
    if len(_article_cache) > 4096:
        _article_cache.clear()
    _article_cache[id(article)] = (article, text, aliases)
    return text, aliases


def _part(word: str, text: str) -> float:
    part = longest_part(word, text)
    return 0.5 * len(part) / len(word) if part else 0.0


def _coverage(terms: Sequence[str], text: str) -> float:
    return sum(1 for t in terms if t in text) / len(terms) if terms else 0.0
