"""The default offline answerer: choose the sentence, shape the answer, or abstain.

1. Candidates: every sentence of the top hits' paragraphs (``features``), each with named
   features: word overlap weighted by IDF, embedding similarity (for Chinese questions the
   stored chunk vectors, no model call; across languages the sentences themselves), rank,
   the span of the asked type, enumeration and cause/method cues, near-miss signals.
2. Choice: the sentence model of ``model`` (a ranking logistic model fitted by
   ``rag fit-reader``) scores each sentence; the top one is chosen.
3. Abstention: the answer model turns the choice's features into a calibrated P(the answer
   is right); below the fitted threshold the answerer says the sources hold no answer.
4. Shape (``shape``): the short answer the question asks for (the entity, every item of an
   enumeration, the cause or method clause), its clause, or the whole quote, as the fitted
   extent chooser prefers; the quoted sentence in the citation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace

import numpy as np

from rag.answer.reader.features import (
    ANSWER_FEATURES,
    MAX_MARGIN,
    Candidate,
    candidates,
    relative,
)
from rag.answer.reader.model import Linear, Logistic, ReaderModel, load_model
from rag.answer.reader.question import QuestionInfo, analyse
from rag.answer.reader.quote_extent import (
    TRAILING,
    answer_window,
    with_cause,
    with_items,
    with_reply,
    with_response,
)
from rag.answer.reader.shape import Short, extent_features, extents
from rag.answer.types import Answer, StreamEvent, abstain, make_citation, stream_finished
from rag.index.store import Store
from rag.ingest.chunking import Chunk
from rag.search.retrieval import Hit
from rag.search.translation import chinese_groups
from rag.text.chars import ELLIPSIS, STOPS, char_class
from rag.text.pinyin import name_keys, spelled_names

_ENDS_SENTENCE = re.compile(f"{char_class(STOPS, ELLIPSIS)}$")

# Scores a batch of sentences against the question by meaning (cosine similarity); used
# where words cannot match, i.e. for questions in another language than the sources.
SentenceScorer = Callable[[str, Sequence[str]], np.ndarray]
# Across languages only the top paragraphs' sentences are embedded (a model call each).
# Swept on the train parts (`rag fit-reader`, 2 / 3 / 5): out-of-fold selection 0.658 /
# 0.659 / 0.657, abstention 0.289 / 0.301 / 0.279 at false abstention 0.022-0.025.
CROSS_LINGUAL_SOURCES = 3
# Translations of one English word that count as that word for word overlap (the corpus's
# most common first; retrieval keeps fewer, rag.search.translation.PER_WORD). Swept on the
# train parts, out of fold (English CMRC questions' sentence choice / all questions' answer
# hit): 3: 0.520 / 0.643, 5: 0.532 / 0.650, 8: 0.545 / 0.652, 12: 0.548 / 0.654; each
# English word's translations counted as separate words (2 of them, before): 0.520 / 0.644.
TRANSLATIONS_PER_WORD = 8
QUOTE = "quote"  # the extent said when the chooser predicts no gain from a shorter one


class ExtractiveAnswerer:
    """Offline answerer; abstains when P(answer is right) is below ``threshold``
    (``None``: the threshold fitted with the model), or when the topic gate finds that the
    sources do not speak of what is asked, if the index's embeddings are in ``vector_space``,
    the space the gate was fitted in."""

    def __init__(
        self,
        threshold: float | None = None,
        max_sources: int = 5,
        scorer: SentenceScorer | None = None,
        query_vector: Callable[[str], np.ndarray] | None = None,
        model: ReaderModel | None = None,
        vector_space: str | None = None,
    ) -> None:
        self.model = model or load_model()
        self.vector_space = vector_space
        self.threshold = self.model.threshold if threshold is None else threshold
        self.max_sources = max_sources
        self.scorer = scorer
        self.query_vector = query_vector

    def stream(self, question: str, hits: Sequence[Hit], store: Store) -> Iterator[StreamEvent]:
        return stream_finished(self.answer(question, hits, store))

    def answer(self, question: str, hits: Sequence[Hit], store: Store) -> Answer:
        info = self.question_info(question, store, hits)
        cands = self.candidates(info, hits, store)
        if not cands:
            return abstain(question, hits, store, info)
        logits = sentence_logits(self.model.sentence, cands)
        best = int(np.argmax(logits))
        row = choice_row(cands, logits, best, self.model.answer.features)
        p_answer = float(self.model.answer.prob(row[None, :])[0])
        if p_answer < self.threshold or (
            self.threshold > 0 and self._off_topic(cands, logits, best)
        ):
            return abstain(question, hits, store, info, support=p_answer)
        return self._compose(info, question, cands[best], p_answer, float(logits[best]))

    def _off_topic(self, cands: Sequence[Candidate], logits: np.ndarray, best: int) -> bool:
        """The topic gate: the sources do not speak of what is asked (a threshold of 0, which
        answers everything, turns it off too)."""
        topic = self.model.topic
        if topic is None or self.vector_space != self.model.topic_space:
            return False
        row = choice_row(cands, logits, best, topic.features)
        return float(topic.prob(row[None, :])[0]) < self.model.topic_threshold

    @staticmethod
    def question_info(question: str, store: Store, hits: Sequence[Hit] = ()) -> QuestionInfo:
        """The question analysed; for one in English, its words are the Chinese words of the
        corpus that translate them (and its names found verbatim, or spelled in characters
        by the hits when it gives them in pinyin), so word overlap counts."""
        info = analyse(question)
        if info.english:
            texts = (f"{h.chunk.title or ''} {h.chunk.text}" for h in hits)
            groups, verbatim = chinese_groups(info.text, store, TRANSLATIONS_PER_WORD)
            terms = [g[0] for g in groups] + verbatim
            terms += spelled_names(name_keys(info.text), texts)
            synonyms = tuple((other, g[0]) for g in groups for other in g[1:])
            if terms:
                info = replace(info, terms=tuple(dict.fromkeys(terms)), synonyms=synonyms)
        return info

    def candidates(self, info: QuestionInfo, hits: Sequence[Hit], store: Store) -> list[Candidate]:
        """Every candidate sentence with all its features set."""
        cands = candidates(info, hits, store, self.max_sources)
        if not cands:
            return cands
        if self.query_vector is not None:
            _set_dense(cands, self.query_vector(info.text), store)
        if info.english and self.scorer is not None:
            cands = [c for c in cands if c.rank <= CROSS_LINGUAL_SOURCES] or cands
            sims = self.scorer(cross_query(info), [_titled(c) for c in cands])
            for c, sim in zip(cands, sims, strict=True):
                c.values["cross"] = float(sim)
        relative(cands)
        return cands

    def said(self, info: QuestionInfo, c: Candidate) -> tuple[str, tuple[int, int]]:
        """What the answer says, at the extent the fitted chooser prefers, and the quote that
        the citation gives (offsets in the paragraph)."""
        (start, end), shown = answer_extents(info, c)
        pick = shown[choose_extent(self.model.extent, extent_features(info, c, shown))]
        if pick.span is not None:
            start, end = min(start, pick.span[0]), max(end, pick.span[1])
        return pick.text.rstrip(TRAILING), (start, end)

    def _compose(
        self, info: QuestionInfo, question: str, c: Candidate, p: float, logit: float
    ) -> Answer:
        said, (start, end) = self.said(info, c)
        citation = make_citation(1, c.hit, c.paragraph, start, end)
        return Answer(
            question=question,
            answer=said + "[1]" + ("" if _ENDS_SENTENCE.search(said) else "。"),
            answered=True,
            mode="extractive",
            citations=(citation,),
            support=p,
            details={"sentence_logit": round(logit, 3)},
        )


def choice_row(
    cands: Sequence[Candidate],
    logits: np.ndarray,
    best: int,
    features: Sequence[str] = ANSWER_FEATURES,
) -> np.ndarray:
    """The abstention model's ``features`` for choosing ``cands[best]``."""
    values = dict(cands[best].values)
    values["sentence_logit"] = float(logits[best])
    others = np.delete(logits, best)
    values["margin"] = (
        min(float(logits[best] - others.max()), MAX_MARGIN) if len(others) else MAX_MARGIN
    )
    return np.array([values.get(f, 0.0) for f in features], dtype=np.float64)


def choose_extent(gains: Mapping[str, Linear], values: Mapping[str, float]) -> str:
    """The extent whose predicted gain over quoting is highest; the quote when none gains."""
    best, best_gain = QUOTE, 0.0
    for kind, model in gains.items():
        x = np.array([[values.get(f, 0.0) for f in model.features]])
        gain = float(model.value(x)[0])
        if gain > best_gain:
            best, best_gain = kind, gain
    return best


def sentence_logits(model: Logistic, cands: Sequence[Candidate]) -> np.ndarray:
    """The sentence model's score of each candidate (the model names the features it uses)."""
    return model.logit(np.stack([c.vector(model.features) for c in cands]))


def answer_extents(info: QuestionInfo, c: Candidate) -> tuple[tuple[int, int], dict[str, Short]]:
    """The quote for candidate ``c`` (offsets in the paragraph) and the answer at each extent."""
    text = c.paragraph.text
    start, end = answer_window(info, text, c.start, c.end, c.span)
    if info.reason:
        start, end = with_cause(text, (c.start, c.end), (start, end))
    if info.method:
        start, end = with_response(text, (c.start, c.end), (start, end))
    if info.listing:
        start, end = with_items(text, (c.start, c.end), (start, end))
    start, end = with_reply(text, (c.start, c.end), (start, end))
    return (start, end), extents(info, c, (start, end))


def cross_query(info: QuestionInfo) -> str:
    """What the cross-lingual similarity embeds for a question in another language: the
    question followed by the Chinese words found for it (translations the corpus uses, names).
    The model then compares Chinese with Chinese for the words it has, and keeps the
    question's own wording for the rest. On the 449 English train questions whose candidates
    hold the answer, the most similar sentence held it for 0.646 of them this way, 0.457 for
    the question alone; the refitted reader's out-of-fold answer hit on English CMRC train
    rose 0.479 -> 0.512 (26 won, 7 lost). It costs one more model call per such question.
    The dense feature keeps the question alone: given this query too, it let more questions
    asked over another corpus through the topic gate (refused 0.827 -> 0.762)."""
    return " ".join([info.text, *info.terms])


def _titled(c: Candidate) -> str:
    """The sentence as the cross-lingual similarity reads it: after its article's title, which
    names what a sentence that leaves its subject unsaid speaks of. On 168 English train
    questions the most similar sentence of the right article held the answer for 0.595 of
    them this way, 0.536 bare; the fitted ranker's out-of-fold choice rose 0.445 -> 0.454."""
    title = c.article.title.strip()
    return f"{title}：{c.sentence}" if title else c.sentence


def _set_dense(cands: list[Candidate], query: np.ndarray, store: Store) -> None:
    """Each sentence's ``dense`` feature: the best similarity of a chunk overlapping it (the
    chunk vectors are in the index: no model call)."""
    paragraphs: dict[tuple[str, int], list[Chunk]] = {}
    for c in cands:
        key = (c.hit.chunk.doc_id, c.paragraph.index)
        if key not in paragraphs:
            paragraphs[key] = store.paragraph_chunks(*key)
    every = [ch.chunk_id for chunks in paragraphs.values() for ch in chunks]
    if not every:
        return
    sims = dict(zip(every, (store.chunk_vectors(every) @ query).tolist(), strict=True))
    for c in cands:
        overlapping = [
            sims[ch.chunk_id]
            for ch in paragraphs[(c.hit.chunk.doc_id, c.paragraph.index)]
            if ch.offset < c.end and c.start < ch.offset + len(ch.text)
        ]
        c.values["dense"] = max(overlapping, default=0.0)
