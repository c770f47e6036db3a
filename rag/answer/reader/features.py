"""Candidate sentences and their features: what the fitted scorer weighs.

Every sentence of the top hits' paragraphs is a candidate. Each gets the named features of
:data:`SENTENCE_FEATURES` (word overlap with the question weighted by IDF, embedding
similarity, retrieval rank, whether it holds a span of the asked type, enumeration and
cause/method cues, near-miss signals…). The weights are not written here: ``rag fit-reader``
fits them on the train parts of the benchmarks (see ``rag.answer.reader.model``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from rag.answer.reader.answer_spans import Span
from rag.answer.reader.question import QuestionInfo
from rag.answer.reader.question_frame import Slot, find_slot
from rag.answer.reader.question_words import QUESTION_WORDS
from rag.answer.reader.span_ranking import best_span, longest_part
from rag.index.lexical import UNSEEN
from rag.index.store import Store
from rag.ingest.documents import Article, Paragraph
from rag.search.retrieval import Hit
from rag.text.chars import CLAUSE_END, ENUMERATION_COMMA, HAN, STOPS, char_class, has_han
from rag.text.crosslingual import english_words, forms, sense_table, stopwords_en
from rag.text.normalize import fold, normalize
from rag.text.sentences import split_sentences
from rag.text.tokens import tokenize, word_bounds

SENTENCE_FEATURES: tuple[str, ...] = (
    "lex_sentence",  # IDF share of the question's words in the sentence
    "lex_window",  # ... the previous sentence's words counting half
    "lex_context",  # ... in the title, section and paragraph together
    "lex_partial",  # share of words only partly in the sentence ("担任" / "任")
    "lex_gap",  # lex_sentence minus the best candidate's
    "lex_rest",  # IDF share of the question's words not in the article title, in the sentence
    "lex_rest_gap",  # lex_rest minus the best candidate's
    "bigram_rest",  # share of the question's bigrams not in the title, in the sentence
    "bigram",  # share of the question's character bigrams in the sentence (no word cutting)
    "bigram_gap",  # bigram minus the best candidate's
    "proximity",  # how close together the question's words sit in the sentence, 0..1
    "focus",  # share of the words next to the question word found in the sentence
    "title",  # share of the question's words in the article title
    "lex_article",  # IDF share of the question's words anywhere in the article
    "lex_article_gap",  # lex_article minus the best candidate's
    "dense",  # cosine of the sentence's chunk to the question
    "dense_gap",  # dense minus the best candidate's
    "cross",  # cosine of the sentence itself to the question (questions in another language)
    "cross_gap",
    "gloss",  # share of an English question's words among the dictionary senses of the
    # sentence's words (CC-CEDICT read Chinese → English: 户 → "household")
    "gloss_gap",
    "latin",  # share of the question's Latin words and digits found in the sentence
    "inv_rank",  # 1 / retrieval rank of the paragraph
    "in_chunk",  # the sentence is in the retrieved chunk
    "span",  # the sentence holds a span of the asked type
    "span_fits",  # ... in the asked unit, title or date precision
    "slot",  # the question's frame points into the sentence
    "slot_whole",  # ... with both sides found
    "figures",  # share of the question's numbers and dates in the sentence (with the title's
    # when its subject is a pronoun, as for lex_sentence: "该码头…" under "5号码头…")
    "missing_entity",  # share of the question's names absent from the whole article
    "missing_figure",  # share of the question's figures absent from the paragraph
    "position",  # sentence index / sentences in the paragraph
    "first",  # the paragraph's first sentence
    "enum",  # log(1 + enumeration commas in the sentence)
    "list_enum",  # a list question times enum
    "cause",  # the sentence holds a cause cue (因为, 由于, 得益于…)
    "reason_cause",  # a why question times cause
    "method",  # the sentence holds a method cue (通过, 采取, 依托…)
    "how_method",  # a how question times method
    "anaphor",  # the sentence refers back (这里, 该区, 其…) for a which/who question
    "length",  # log of the sentence's length in characters
    "english",  # the question has no Han characters
    "typed",  # the question asks for a typed span (number, date, name, place…)
    "typed_no_span",  # a typed question and the sentence holds no span of that type
)
# Set for every candidate too, but weighed by the abstention model only: whether the article
# speaks of what is asked at all. In the ranking model it cost sentence choice (out of fold on
# train, 0.686 against 0.689); in the abstention model alone it refused 0.350 of the train
# unanswerable questions against 0.323, at false abstention 0.025 against 0.029.
ABSTENTION_ONLY: tuple[str, ...] = (
    "focus_article",  # share of the words next to the question word found anywhere in the article
)

# Cue words: general Chinese connectives, not tied to any text.
CAUSE_CUE = re.compile(
    r"因为|由于|得益于|之所以|原因|缘于|源于|出于|鉴于|归功于|受益于|导致|使得|因此"
)
METHOD_CUE = re.compile(
    r"通过|采取|采用|依托|借助|利用|运用|推行|实行|建立|打造|搭建|以[^，。]{1,12}(?:方式|模式|形式)|办法|做法|措施|举措"
)
# Pronouns that open a sentence about the article's subject (general Chinese).
SUBJECT_PRONOUN = re.compile(r"(?:他们|她们|它们|他|她|它|其|该)")
ANAPHOR = re.compile(r"这里|此地|当地|该[区市县镇村园馆院所校站厂企司省]|^其|，其")
_NAMED = char_class(CLAUSE_END, "。“”", negate=True, also=r"\s")  # a name holds no punctuation
_ALIAS = re.compile(rf"({_NAMED}{{2,40}}?)[（(]以下简称[“\"]?([^”\"）)]{{2,20}})[”\"]?[）)]")
PREVIOUS_SHARE = 0.5  # lex_window: a word found only in the sentence before counts this much
_HAN_RUN = re.compile(f"[{HAN}]+")
_LATIN = re.compile(r"[A-Za-z][A-Za-z\-]+|\d+(?:\.\d+)?")


@dataclass
class Candidate:
    """One sentence of a retrieved paragraph, with its features and best answer span."""

    hit: Hit
    rank: int
    article: Article
    paragraph: Paragraph
    start: int  # the sentence's offsets in the paragraph text
    end: int
    span: Span | None  # offsets within the sentence
    fits: bool
    slot: Slot | None  # offsets within the folded sentence
    values: dict[str, float] = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        return self.paragraph.text[self.start : self.end]

    def vector(self, names: Sequence[str]) -> np.ndarray:
        return np.array([self.values.get(n, 0.0) for n in names], dtype=np.float64)


def candidates(
    info: QuestionInfo, hits: Sequence[Hit], store: Store, max_sources: int
) -> list[Candidate]:
    """Every sentence of the top ``max_sources`` hits' paragraphs, with lexical features."""
    idf = store.idf(info.terms)
    weights = {t: idf.get(t, idf[UNSEEN]) for t in info.terms}
    english = _english_words(info.text) if info.english else ()
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    for rank, hit in enumerate(hits[:max_sources], start=1):
        key = (hit.chunk.doc_id, hit.chunk.paragraph)
        article = store.article(hit.chunk.doc_id)
        if article is None or key in seen:
            continue
        seen.add(key)
        out.extend(_paragraph(info, hit, rank, article, weights, english))
    return out


def _english_words(text: str) -> tuple[frozenset[str], ...]:
    """The content words of an English question, each as its possible stems."""
    stop = stopwords_en()
    words = dict.fromkeys(w for w in english_words(text) if w.isalpha() and w not in stop)
    return tuple(forms(w) for w in words)


@lru_cache(maxsize=4096)
def _senses_of(sentence: str) -> frozenset[str]:
    """The English senses of a (normalised) sentence's words, for English questions."""
    table = sense_table()
    return frozenset(w for t in tokenize(sentence) for w in table.get(t, ()))


def relative(cands: Sequence[Candidate]) -> None:
    """Set the features that compare a candidate with the best of its question's."""
    for name in ("lex_sentence", "lex_rest", "lex_article", "bigram", "dense", "cross", "gloss"):
        best = max((c.values.get(name, 0.0) for c in cands), default=0.0)
        gap = "lex_gap" if name == "lex_sentence" else f"{name}_gap"
        for c in cands:
            c.values[gap] = c.values.get(name, 0.0) - best


def _paragraph(
    info: QuestionInfo,
    hit: Hit,
    rank: int,
    article: Article,
    weights: dict[str, float],
    english: Sequence[frozenset[str]] = (),
) -> list[Candidate]:
    paragraph = article.paragraph(hit.chunk.paragraph)
    title = _with_synonyms(normalize(article.title).lower(), info.synonyms)
    context = normalize(f"{article.title} {paragraph.section or ''} {paragraph.text}").lower()
    context = _with_synonyms(context, info.synonyms)
    total = sum(weights.values()) or 1.0
    in_context = sum(w for t, w in weights.items() if t in context) / total
    in_title = sum(w for t, w in weights.items() if t in title) / total
    whole, aliases = _article_text(article)
    whole = _with_synonyms(whole, info.synonyms)
    in_article = sum(w for t, w in weights.items() if t in whole) / total
    focus_article = coverage(info.focus, whole)
    names = info.entities
    missing_entity = (
        sum(1 for n in names if not _mentions(whole, normalize(n).lower())) / len(names)
        if names
        else 0.0
    )
    figures = info.dates + info.numbers
    missing_figure = sum(1 for f in figures if f not in context) / len(figures) if figures else 0.0
    # Latin words and figures that a Chinese source can hold verbatim (model names, "2023"):
    # the question's content terms that are Latin, its stopwords ("how", "the") left out.
    latin = [t for t in info.terms if _LATIN.fullmatch(t)] if info.english else []
    sentences = _sentences(paragraph.text)
    bigrams = _bigrams(QUESTION_WORDS.sub(" ", info.text.lower()))
    # The article's subject recurs all over it: what sets the answer's sentence apart is the
    # rest of the question's words (the asked relation: "开馆时间", "占地多大").
    rest = {t: w for t, w in weights.items() if t not in title} or weights
    rest_total = sum(rest.values()) or 1.0
    rest_bigrams = {b for b in bigrams if b not in title} or bigrams
    out = []
    previous = ""
    for index, facts in enumerate(sentences):
        s, e, sentence, norm = facts.start, facts.end, facts.text, facts.norm
        # A short name defined earlier ("以下简称…") stands for the full one it abbreviates.
        expanded = "".join(f" {full}" for short, full in aliases if short in norm)
        norm_bigrams = facts.bigrams | _bigrams(expanded) if expanded else facts.bigrams
        norm = _with_synonyms(norm + expanded, info.synonyms)
        # A sentence whose subject is a pronoun ("她曾…", "该区…") speaks of the article's
        # subject, which the title names: for word overlap its words count as the sentence's.
        said = f"{norm} {title}" if SUBJECT_PRONOUN.match(norm) else norm
        present = {t for t in weights if t in said}
        lex_sentence = sum(weights[t] for t in present) / total
        before = sum(w for t, w in weights.items() if t not in present and t in previous)
        lex_window = lex_sentence + PREVIOUS_SHARE * before / total
        partial = sum(_part(t, said) * w for t, w in weights.items() if t not in present) / total
        previous = said
        slot = find_slot(info.frame, facts.folded, facts.bounds) if info.frame else None
        span, fits = best_span(info, sentence, norm, weights, title, slot)
        n_enum, cause, method = facts.enumeration_commas, facts.cause, facts.method
        glossed = _senses_of(said) if english else frozenset()
        typed = float(info.wants_span)
        values = {
            "lex_sentence": lex_sentence,
            "lex_window": lex_window,
            "lex_context": in_context,
            "lex_partial": partial,
            "lex_rest": sum(w for t, w in rest.items() if t in present) / rest_total,
            "bigram_rest": (
                len(rest_bigrams & norm_bigrams) / len(rest_bigrams) if rest_bigrams else 0.0
            ),
            "bigram": len(bigrams & norm_bigrams) / len(bigrams) if bigrams else 0.0,
            "proximity": _proximity(present, norm),
            "focus": coverage(info.focus, norm),
            "title": in_title,
            "lex_article": in_article,
            "focus_article": focus_article,
            "latin": coverage(latin, said) if latin else 0.0,
            "inv_rank": 1.0 / rank,
            "in_chunk": float(hit.chunk.offset <= s < hit.chunk.offset + len(hit.chunk.text)),
            "span": float(span is not None),
            "span_fits": float(span is not None and fits),
            "slot": float(slot is not None),
            "slot_whole": float(slot is not None and slot.whole),
            "figures": sum(f in said for f in figures) / len(figures) if figures else 0.0,
            "missing_entity": missing_entity,
            "missing_figure": missing_figure,
            "position": index / len(sentences),
            "first": float(index == 0),
            "enum": math.log1p(n_enum),
            "list_enum": math.log1p(n_enum) * info.listing,
            "cause": cause,
            "reason_cause": cause * info.reason,
            "method": method,
            "how_method": method * info.method,
            "anaphor": float(info.qtype in ("org", "place", "person") and facts.anaphor),
            "length": math.log(max(e - s, 1)),
            "english": float(info.english),
            "gloss": sum(bool(f & glossed) for f in english) / len(english) if english else 0.0,
            "typed": typed,
            "typed_no_span": typed * (span is None),
        }
        out.append(Candidate(hit, rank, article, paragraph, s, e, span, fits, slot, values))
    return out


@dataclass(frozen=True, slots=True)
class _Sentence:
    """What a candidate's features need of its sentence and that no question changes."""

    start: int  # offsets in the paragraph text
    end: int
    text: str
    norm: str  # normalised, lower case
    folded: str  # folded with every character's offset kept (rag.text.normalize.fold)
    bounds: frozenset[int]  # where the folded text's words start and end
    bigrams: frozenset[str]  # of norm
    enumeration_commas: int
    cause: float
    method: float
    anaphor: bool


@lru_cache(maxsize=4096)
def _sentences(paragraph: str) -> tuple[_Sentence, ...]:
    """The sentences of a paragraph with their question-independent facts, computed once per
    paragraph text: the same paragraphs come up again and again in a served corpus."""
    out = []
    for s, e in split_sentences(paragraph):
        sentence = paragraph[s:e]
        norm = normalize(sentence).lower()
        out.append(
            _Sentence(
                s,
                e,
                sentence,
                norm,
                folded := fold(sentence),
                word_bounds(folded),
                frozenset(_bigrams(norm)),
                sentence.count(ENUMERATION_COMMA),
                float(bool(CAUSE_CUE.search(sentence))),
                float(bool(METHOD_CUE.search(sentence))),
                bool(ANAPHOR.search(sentence)),
            )
        )
    return tuple(out)


_article_cache: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = {}
_ALIAS_CUE = "以下简称"  # the literal _ALIAS needs: text without it has no abbreviation


def _article_text(article: Article) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The article's normalised text and its abbreviations ("以下简称…"), cached by content
    (the store hands out a new Article per read; hashing its texts is far cheaper than this)."""
    key = hash((article.doc_id, article.title, tuple(p.text for p in article.paragraphs)))
    cached = _article_cache.get(key)
    if cached is not None:
        return cached
    text = normalize(article.title + " " + " ".join(p.text for p in article.paragraphs)).lower()
    aliases = (
        tuple(
            dict.fromkeys((m.group(2).lower(), m.group(1).lower()) for m in _ALIAS.finditer(text))
        )
        if _ALIAS_CUE in text
        else ()
    )
    if len(_article_cache) > 4096:
        _article_cache.clear()
    _article_cache[key] = (text, aliases)
    return text, aliases


ABBREVIATION_GAP = 3  # characters a full name may hold between two of its abbreviation's
_IN_NAME = char_class(CLAUSE_END, STOPS, negate=True, also=r"\s")  # a name spans no punctuation


@lru_cache(maxsize=4096)
def _abbreviated(name: str) -> re.Pattern[str]:
    """A full form that ``name`` abbreviates: its characters in order, a few between each
    ("锂电池" in "锂离子电池", "北大" in "北京大学")."""
    gap = f"{_IN_NAME}{{0,{ABBREVIATION_GAP}}}?"
    return re.compile(gap.join(re.escape(ch) for ch in name))


def _mentions(text: str, name: str) -> bool:
    """``name`` is in ``text``, written out or as the full form a Chinese name abbreviates."""
    return name in text or (
        len(name) >= 2 and has_han(name) and bool(_abbreviated(name).search(text))
    )


def _with_synonyms(text: str, synonyms: Sequence[tuple[str, str]]) -> str:
    """``text`` followed by the question's terms it holds another translation of."""
    found = dict.fromkeys(term for other, term in synonyms if other in text and term not in text)
    return f"{text} {' '.join(found)}" if found else text


def _bigrams(text: str) -> set[str]:
    """Character bigrams of the Han runs of ``text``."""
    return {m[i : i + 2] for m in _HAN_RUN.findall(text) for i in range(len(m) - 1)}


def _proximity(words: set[str], text: str) -> float:
    """The characters the found words take up over the stretch from the first to the last
    (1: side by side; near 0: scattered over a long sentence)."""
    found = ((text.find(w), len(w)) for w in words if len(w) >= 2)
    places = [(at, n) for at, n in found if at >= 0]  # not the words found in the title only
    if len(places) < 2:
        return float(bool(places))
    lo = min(p for p, _ in places)
    hi = max(p + n for p, n in places)
    return min(1.0, sum(n for _, n in places) / max(hi - lo, 1))


def _part(word: str, text: str) -> float:
    part = longest_part(word, text)
    return len(part) / len(word) if part else 0.0


def coverage(terms: Sequence[str], text: str) -> float:
    """The share of ``terms`` found in ``text``."""
    return sum(1 for t in terms if t in text) / len(terms) if terms else 0.0


# What the abstention model weighs: the chosen sentence's features and how far it stands out.
ANSWER_FEATURES: tuple[str, ...] = (
    "sentence_logit",  # the sentence model's logit for the chosen sentence
    "margin",  # ... minus the runner-up's (capped)
    "lex_sentence",
    "lex_gap",  # how far the chosen sentence's word overlap falls short of the best one's
    "lex_rest",
    "bigram_rest",
    "lex_article",
    "lex_context",
    "focus",
    "focus_article",
    "dense",
    "cross",
    "latin",
    "span_fits",
    "typed",
    "typed_no_span",
    "missing_entity",
    "missing_figure",
    "english",
)
# What the topic gate weighs: whether the sources speak of what is asked at all (the article's
# and the paragraph's words, names missing from the article, similarity), not whether the
# chosen sentence states it. The similarities' scale is the embedding model's: the gate holds
# only in the vector space it was fitted in (``ReaderModel.topic_space``).
TOPIC_FEATURES: tuple[str, ...] = (
    "lex_article",
    "focus_article",
    "lex_context",
    "title",
    "missing_entity",
    "dense",
    "cross",
    "english",
    "lex_sentence",
    "sentence_logit",
)
# The direction each feature's evidence points, known before fitting: more of the question
# found in the choice never makes it less likely right, more of it missing never more likely.
# The abstention model's coefficients are held to these signs. Fitted freely, the lexical
# ones came out negative (the sentence logit counts them already), so a question about
# nothing in the corpus scored as if answered: low overlap everywhere raised P(right).
EVIDENCE_SIGN: dict[str, int] = {
    **dict.fromkeys(
        ("sentence_logit", "margin", "lex_sentence", "lex_gap", "lex_rest", "bigram_rest"), 1
    ),
    **dict.fromkeys(("lex_article", "lex_context", "focus", "focus_article", "dense"), 1),
    **dict.fromkeys(("cross", "latin", "span_fits", "title"), 1),
    **dict.fromkeys(("typed_no_span", "missing_entity", "missing_figure"), -1),
}
MAX_MARGIN = 8.0
