"""``rag fit-reader``: fit the reader's sentence and abstention models on the *train* parts.

Data: the train parts (``rag.bench.splits``) of the seed question set and of CMRC 2018 trial,
and the sets written over CMRC's train contexts only (``eval/train/``: English versions of
the train questions, near-miss questions the contexts do not answer), each question
retrieved as ``rag ask`` does (hybrid, top 5). A candidate sentence is a positive when it
contains a gold answer.

- Sentence model: a ranking logistic regression over differences of ``SENTENCE_FEATURES``
  between a positive and a negative sentence of one question; its regularisation ``C`` is
  swept by question-grouped cross-validation (the share of questions whose top-scored
  sentence is a positive); the most regularised ``C`` within one standard error of the best
  is taken (the one-standard-error rule), so that a refit does not flip between near ties.
- Abstention model: logistic regression over ``ANSWER_FEATURES`` of each question's choice,
  labelled right or wrong; unanswerable questions, and answerable ones replayed with their
  answer-bearing sentences removed (the fact absent, the entity present: near misses), are
  the wrong ones the model must learn to refuse. Its probabilities come out of fold, so the
  threshold is chosen on predictions for questions the model did not see.
- Threshold: the highest whose false abstention over those out-of-fold predictions stays
  within ``FALSE_ABSTENTION_GOAL`` (the issue's bound) in every question set, so the most
  refusals the bound allows; chosen per language, with English questions' probabilities
  shifted so the one shipped threshold applies both (``AnswerFit.calibrated``).
- Extent chooser: per shorter extent (the short answer, its clause), a ridge regression of
  its score over the quote's (mean of containment and F1), ``alpha`` swept out of fold.
"""

from __future__ import annotations

import copy
import itertools
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.reader.features import (
    ANSWER_FEATURES,
    EVIDENCE_SIGN,
    SENTENCE_FEATURES,
    TOPIC_FEATURES,
    Candidate,
    relative,
)
from rag.answer.reader.model import Linear, Logistic, ReaderModel, Standardiser, matrix
from rag.answer.reader.reader import (
    QUOTE,
    ExtractiveAnswerer,
    answer_extents,
    choice_row,
    choose_extent,
    sentence_logits,
)
from rag.answer.reader.shape import EXTENT_FEATURES, extent_features, question_class
from rag.bench.cmrc import load_cmrc, write_corpus
from rag.bench.held_out import open_docs_set
from rag.bench.metrics import char_f1, contains_answer
from rag.bench.questions import Question, QuestionSetError, load_questions
from rag.bench.splits import NEWS, part
from rag.bench.systems import build_engine
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import vector_space
from rag.search.retrieval import Hit

C_GRID = (0.03, 0.1, 0.3, 1.0)
MAX_POSITIVES = 3  # pairs per question: up to 3 positives, each against up to 30 negatives
MAX_NEGATIVES = 30
FOLDS = 5
FALSE_ABSTENTION_GOAL = 0.03  # the target: false abstention <= 0.03, then most abstention
MIN_CLASS = 8  # train questions a class needs for its extent scores to be reported
EXTENT_ALPHAS = (10.0, 30.0, 100.0, 300.0)  # ridge penalties swept for the extent chooser
EXTENT_REPEATS = 5  # shuffles of the folds the extent chooser's penalty is swept over
SHORTER = ("short", "clause")  # the extents the chooser weighs against the quote
THRESHOLDS = tuple(round(t, 3) for t in np.arange(0.02, 0.9, 0.01))
ELSEWHERE = "elsewhere"  # one corpus's questions asked over another's index: off-topic there
ELSEWHERE_PER_PAIR = 150  # questions asked per ordered pair of corpora
# The share of every set's answerable train questions the topic gate may refuse (out of fold),
# swept: the one whose gate, with the abstention threshold chosen after it, refuses most real
# unanswerable train questions.
TOPIC_BOUNDS = (0.0, 0.005, 0.01, 0.02, 0.03)
TOPIC_GRID = tuple(round(t, 3) for t in np.arange(0.0, 0.5, 0.01))
Log = Callable[[str], None]


@dataclass
class Example:
    """One train question: its candidates, their labels, and the engine that retrieved them."""

    question: Question
    set_name: str
    cands: list[Candidate]
    labels: np.ndarray
    engine: RagEngine
    hits: list[Hit] = field(default_factory=list)


@dataclass
class FitReport:
    model: ReaderModel
    lines: list[str]


def collect(
    engine: RagEngine, questions: Sequence[Question], set_name: str, say: Log
) -> list[Example]:
    answerer = engine.answerer
    assert isinstance(answerer, ExtractiveAnswerer)
    out = []
    for n, q in enumerate(questions, start=1):
        hits = engine.search(q.question, k=5).hits
        info = answerer.question_info(q.question, engine.store, hits)
        cands = answerer.candidates(info, hits, engine.store)
        labels = np.array([contains_answer(c.sentence, q.answers) for c in cands], dtype=bool)
        out.append(Example(q, set_name, cands, labels, engine, list(hits)))
        if n % 200 == 0:
            say(f"  {set_name}: {n}/{len(questions)} questions")
    return out


def _fit_logistic(x: np.ndarray, y: np.ndarray, names: Sequence[str], c: float) -> Logistic:
    """Logistic regression on standardised features, both classes weighted equally, L2
    penalty ``1 / c`` (sklearn's ``class_weight="balanced"`` objective), with the
    coefficients of :data:`EVIDENCE_SIGN`'s features held to their sign (L-BFGS-B bounds)."""
    from scipy.optimize import minimize

    standard = Standardiser.fit(x)
    z, target = standard(x), y.astype(np.float64)
    positives = target.sum()
    weight = np.where(target > 0, len(y) / (2 * positives), len(y) / (2 * (len(y) - positives)))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = theta[:-1], theta[-1]
        t = z @ coef + intercept
        value = np.sum(weight * np.logaddexp(0.0, np.where(target > 0, -t, t)))
        grad = weight * (1.0 / (1.0 + np.exp(-t)) - target)
        return value + coef @ coef / (2 * c), np.r_[z.T @ grad + coef / c, grad.sum()]

    sign = [EVIDENCE_SIGN.get(n, 0) for n in names]
    bounds = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in sign]
    found = minimize(
        loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)]
    )
    return Logistic(tuple(names), standard, found.x[:-1], float(found.x[-1]))


def _fit_pairwise(examples: Sequence[Example], c: float) -> Logistic:
    """A ranking model: logistic regression on differences of (standardised) feature vectors,
    a positive sentence minus a negative one of the same question. Only the order of its
    scores means something, which is all that choosing a sentence needs."""
    from sklearn.linear_model import LogisticRegression

    standard = Standardiser.fit(_sentence_data(examples)[0])
    rng = np.random.default_rng(0)
    diffs: list[np.ndarray] = []
    for e in examples:
        v = standard(np.stack([c.vector(SENTENCE_FEATURES) for c in e.cands]))
        pos, neg = v[e.labels][:MAX_POSITIVES], v[~e.labels]
        if len(neg) > MAX_NEGATIVES:
            neg = neg[rng.choice(len(neg), MAX_NEGATIVES, replace=False)]
        diffs.extend(p - q for p in pos for q in neg)
    d = np.array(diffs)
    clf = LogisticRegression(C=c, fit_intercept=False, max_iter=3000)
    clf.fit(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))])
    return Logistic(SENTENCE_FEATURES, standard, clf.coef_[0], 0.0)


def _folds(examples: Sequence[Example]) -> list[int]:
    return [i % FOLDS for i in range(len(examples))]


def _sentence_data(examples: Sequence[Example]) -> tuple[np.ndarray, np.ndarray]:
    rows = [c.vector(SENTENCE_FEATURES) for e in examples for c in e.cands]
    labels = [bool(v) for e in examples for v in e.labels]
    return np.stack(rows), np.array(labels)


def _selection(model: Logistic, examples: Sequence[Example]) -> float:
    right = 0
    for e in examples:
        if e.cands and e.question.answerable:
            logits = sentence_logits(model, e.cands)
            right += bool(e.labels[int(np.argmax(logits))])
    return right / max(1, sum(1 for e in examples if e.question.answerable))


def fit_sentence(
    examples: Sequence[Example], say: Log
) -> tuple[Logistic, float, dict[float, float]]:
    """The sentence model with ``C`` swept by grouped cross-validation."""
    folds = _folds(examples)
    scores: dict[float, float] = {}
    trainable = [e for e in examples if e.question.answerable and e.labels.any()]
    for c in C_GRID:
        right = 0.0
        for k in range(FOLDS):
            train = [e for e, f in zip(examples, folds, strict=True) if f != k and e in trainable]
            test = [e for e, f in zip(examples, folds, strict=True) if f == k]
            model = _fit_pairwise(train, c)
            right += _selection(model, test) * sum(1 for e in test if e.question.answerable)
        scores[c] = right / sum(1 for e in examples if e.question.answerable)
        say(f"  sentence model C={c}: out-of-fold selection accuracy {scores[c]:.3f}")
    best_c = one_se_choice(scores, sum(1 for e in examples if e.question.answerable))
    return _fit_pairwise(trainable, best_c), best_c, scores


def one_se_choice(scores: dict[float, float], n: int) -> float:
    """The most regularised ``C`` whose accuracy is within one standard error of the best.

    Out-of-fold accuracies of neighbouring ``C`` differ by less than their noise; taking the
    best one outright makes the choice (and every figure after it) flip between refits.
    """
    best = max(scores.values())
    se = float(np.sqrt(best * (1 - best) / max(n, 1)))
    return min(c for c, v in scores.items() if v >= best - se)


def _choices(sentence: Logistic, e: Example) -> list[tuple[np.ndarray, bool, bool, bool]]:
    """``(features, right, answerable, real)`` of the question's choice, and of its replay
    with the answer-bearing sentences removed (a synthetic near miss: to be refused)."""
    out: list[tuple[np.ndarray, bool, bool, bool]] = []
    if not e.cands:
        return out
    logits = sentence_logits(sentence, e.cands)
    best = int(np.argmax(logits))
    row = choice_row(e.cands, logits, best)
    out.append((row, bool(e.labels[best]), e.question.answerable, True))
    if e.question.answerable and e.labels.any() and not e.labels.all():
        rest = [copy.copy(c) for c, pos in zip(e.cands, e.labels, strict=True) if not pos]
        for c in rest:
            c.values = dict(c.values)
        relative(rest)
        rl = sentence_logits(sentence, rest)
        out.append((choice_row(rest, rl, int(np.argmax(rl))), False, False, False))
    return out


@dataclass
class AnswerFit:
    """The abstention model, and per choice its out-of-fold P(right), whether it was right,
    whether its question is answerable, and whether it is a real question (not a replay)."""

    model: Logistic
    oof: np.ndarray
    right: np.ndarray
    answerable: np.ndarray
    real: np.ndarray
    sets: np.ndarray  # the question set of each choice
    english: np.ndarray  # each choice's question is in English
    keys: np.ndarray  # each choice's question, "set:id"
    # Questions asked over another corpus's index: not fitted on (they are the topic gate's),
    # but what the model would say of them counts in the gate's bound (``fit_topic_swept``).
    elsewhere_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    elsewhere_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # if chosen
    elsewhere_chosen: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def gated(self, refused: set[str]) -> AnswerFit:
        """This fit with the real choices of the questions in ``refused`` (by the topic gate)
        given probability 0, so every threshold counts them refused."""
        gate = np.isin(self.keys, list(refused)) & self.real
        return replace(self, oof=np.where(gate, 0.0, self.oof))

    def calibrated(self) -> tuple[AnswerFit, float]:
        """This fit with English questions' probabilities moved so that one threshold keeps
        false abstention within the bound for every set, and that threshold.

        Pooled, English questions took most of the false abstentions the bound allows (out of
        fold on train, 0.047 for them against 0.014 for Chinese ones at the pooled
        threshold). Per language the threshold is the lowest of its sets' (each set's highest
        within the bound); the English term of the model is then shifted by the difference
        of the two thresholds' logits, so ``P >= threshold`` decides both languages at once.
        """
        chinese = _set_threshold(self.oof, self.answerable, self.sets, ~self.english)
        english = _set_threshold(self.oof, self.answerable, self.sets, self.english)
        shift = _logit(chinese) - _logit(english) if self.english.any() else 0.0
        moved = 1.0 / (1.0 + np.exp(-(_logit(self.oof) + shift * self.english)))
        return replace(self, model=_shifted(self.model, shift), oof=moved), chinese

    def refused(self, threshold: float) -> dict[str, float]:
        """Out of fold at ``threshold``: the share refused of real unanswerable questions,
        of synthetic near misses, and of answerable questions (false abstention)."""
        abstains = self.oof < threshold

        def share(mask: np.ndarray) -> float:
            return float(abstains[mask].mean()) if mask.any() else 0.0

        return {
            "real_unanswerable": share(~self.answerable & self.real),
            "synthetic_near_miss": share(~self.answerable & ~self.real),
            "false_abstention": share(self.answerable),
            "unanswerable": share(~self.answerable),
            **{
                f"false_abstention_{s}": share(self.answerable & (self.sets == s))
                for s in self.set_names
            },
        }

    def elsewhere_refused(self, threshold: float, gate: set[str]) -> float:
        """The share of questions asked over another corpus's index refused at ``threshold``
        behind a gate that refuses ``gate``: no candidate, refused by the gate, or below
        the threshold (the fitted model's P, never fitted on them)."""
        if not len(self.elsewhere_keys):
            return 0.0
        refused = ~self.elsewhere_chosen | np.isin(self.elsewhere_keys, list(gate))
        if len(self.elsewhere_rows):
            prob = self.model.prob(self.elsewhere_rows)
            refused[self.elsewhere_chosen] |= prob < threshold
        return float(refused.mean())

    @property
    def set_names(self) -> list[str]:
        """The sets that hold answerable questions, in order."""
        return list(dict.fromkeys(self.sets[self.answerable]))


def fit_answer_swept(
    sentence: Logistic, examples: Sequence[Example], say: Log
) -> tuple[AnswerFit, float, dict[float, float]]:
    """The abstention model with its own ``C``, swept by the out-of-fold ROC AUC of its
    P(right): how well it ranks right choices above wrong ones, whatever the threshold. (The
    refusal share at the false-abstention bound moves in steps of the threshold grid, too
    coarse to choose by.) A tie goes to the more regularised ``C``."""
    from sklearn.metrics import roc_auc_score

    fits = {c: fit_answer(sentence, examples, c) for c in C_GRID}
    auc = {c: float(roc_auc_score(f.right, f.oof)) for c, f in fits.items()}
    for c, v in auc.items():
        say(f"  abstention model C={c}: out-of-fold ROC AUC {v:.4f}")
    best = best_auc_c(auc)
    return fits[best], best, auc


def best_auc_c(auc: dict[float, float]) -> float:
    """The ``C`` of the highest AUC to 4 decimals (finer differences are noise); of tied
    ones the most regularised."""
    return max(auc, key=lambda c: (round(auc[c], 4), -c))


def _logit(p: np.ndarray | float) -> Any:
    q = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(q / (1 - q))


def _set_threshold(
    prob: np.ndarray, answerable: np.ndarray, sets: np.ndarray, rows: np.ndarray
) -> float:
    """The lowest over the question sets of ``rows`` of each set's threshold (the highest
    whose false abstention stays within the bound), so the bound holds for every set."""
    found = [
        choose_threshold(prob[rows & (sets == s)], answerable[rows & (sets == s)])[0]
        for s in dict.fromkeys(sets[rows & answerable])
    ]
    return min(found, default=THRESHOLDS[0])


def _shifted(model: Logistic, shift: float) -> Logistic:
    """``model`` with ``shift`` added to the logit of rows whose ``english`` feature is 1
    (it is 0 or 1): its standardised coefficient and the intercept moved to match."""
    if not shift:
        return model
    i = model.features.index("english")
    coef = model.coef.copy()
    coef[i] += shift * model.standard.scale[i]
    intercept = model.intercept + shift * float(model.standard.mean[i])
    return Logistic(model.features, model.standard, coef, intercept)


def fit_answer(sentence: Logistic, examples: Sequence[Example], c: float) -> AnswerFit:
    """The abstention model, with its out-of-fold predictions (questions asked elsewhere are
    the topic gate's, not its)."""
    elsewhere = [e for e in examples if e.set_name == ELSEWHERE]
    examples = [e for e in examples if e.set_name != ELSEWHERE]
    folds = _folds(examples)
    rows = [
        (ch, f, e.set_name, _key(e))
        for e, f in zip(examples, folds, strict=True)
        for ch in _choices(sentence, e)
    ]
    x = np.stack([r[0][0] for r in rows])
    y = np.array([r[0][1] for r in rows])
    fold = np.array([r[1] for r in rows])
    oof = np.zeros(len(rows))
    for k in range(FOLDS):
        model = _fit_logistic(x[fold != k], y[fold != k], ANSWER_FEATURES, c)
        oof[fold == k] = model.prob(x[fold == k])
    return AnswerFit(
        _fit_logistic(x, y, ANSWER_FEATURES, c),
        oof,
        y,
        np.array([r[0][2] for r in rows]),
        np.array([r[0][3] for r in rows]),
        np.array([r[2] for r in rows]),
        x[:, ANSWER_FEATURES.index("english")] > 0.5,
        np.array([r[3] for r in rows]),
        np.array([_key(e) for e in elsewhere]),
        np.stack([_choice_row(sentence, e, ANSWER_FEATURES) for e in elsewhere if e.cands])
        if any(e.cands for e in elsewhere)
        else np.zeros((0, len(ANSWER_FEATURES))),
        np.array([bool(e.cands) for e in elsewhere], dtype=bool),
    )


def _key(e: Example) -> str:
    return f"{e.set_name}:{e.question.id}"


def collect_elsewhere(
    corpora: Sequence[tuple[RagEngine, Sequence[Question]]], say: Log
) -> list[Example]:
    """Each corpus's answerable questions asked over every other corpus's index, relabelled
    unanswerable: what a question about nothing in the sources looks like (at most
    ``ELSEWHERE_PER_PAIR`` per ordered pair, drawn with a fixed seed)."""
    rng = random.Random(0)
    out: list[Example] = []
    for i, (engine, _) in enumerate(corpora):
        for j, (_, questions) in enumerate(corpora):
            asked = [q for q in questions if q.answerable]
            if i == j or not asked:
                continue
            moved = [
                replace(q, id=f"{j}>{i}:{q.id}", answers=(), evidence="", doc_id=None,
                        type="unanswerable", near_miss=False, items=())
                for q in rng.sample(asked, min(ELSEWHERE_PER_PAIR, len(asked)))
            ]  # fmt: skip
            out += collect(engine, moved, ELSEWHERE, say)
    say(f"fit-reader: {len(out)} questions asked over another corpus's index")
    return out


@dataclass
class TopicFit:
    """The topic gate: P(the sources speak of what is asked), its threshold, and the questions
    it refuses out of fold."""

    model: Logistic
    threshold: float
    refused: set[str]


@dataclass
class TopicScores:
    """The topic gate's model and, per question it was fitted on, its out-of-fold P(on topic):
    all a threshold needs, whatever the bound."""

    model: Logistic
    oof: np.ndarray
    on_topic: np.ndarray
    sets: np.ndarray
    keys: np.ndarray

    def at(self, bound: float) -> TopicFit:
        """The gate whose threshold is the highest that refuses at most ``bound`` of every
        set's answerable questions out of fold."""
        threshold = topic_threshold(self.oof, self.on_topic, self.sets, bound)
        return TopicFit(self.model, threshold, set(self.keys[self.oof < threshold].tolist()))


def fit_topic(sentence: Logistic, examples: Sequence[Example], c: float) -> TopicScores:
    """The topic gate, fitted on answerable questions (on topic) against questions asked over
    another corpus's index and real off-topic ones (near misses, on topic but unanswered, are
    left out), with its out-of-fold probabilities."""
    rows = [
        e
        for e in examples
        if e.cands
        and (e.question.answerable or e.set_name == ELSEWHERE or not e.question.near_miss)
    ]
    x = np.stack([_choice_row(sentence, e, TOPIC_FEATURES) for e in rows])
    y = np.array([e.question.answerable for e in rows])
    fold = np.array(_folds(rows))
    oof = np.zeros(len(rows))
    for k in range(FOLDS):
        oof[fold == k] = _fit_logistic(x[fold != k], y[fold != k], TOPIC_FEATURES, c).prob(
            x[fold == k]
        )
    return TopicScores(
        _fit_logistic(x, y, TOPIC_FEATURES, c),
        oof,
        y,
        np.array([e.set_name for e in rows]),
        np.array([_key(e) for e in rows]),
    )


def topic_threshold(
    prob: np.ndarray, on_topic: np.ndarray, sets: np.ndarray, bound: float
) -> float:
    """The highest threshold of ``TOPIC_GRID`` below which at most ``bound`` of every set's
    on-topic (answerable) questions fall; 0, which refuses nothing, when none is."""
    within = [
        t
        for t in TOPIC_GRID
        if all((prob[on_topic & (sets == s)] < t).mean() <= bound for s in set(sets[on_topic]))
    ]
    return max(within, default=0.0)


def _choice_row(sentence: Logistic, e: Example, features: Sequence[str]) -> np.ndarray:
    logits = sentence_logits(sentence, e.cands)
    return choice_row(e.cands, logits, int(np.argmax(logits)), features)


def fit_topic_swept(
    sentence: Logistic, examples: Sequence[Example], answer: AnswerFit, c: float, say: Log
) -> tuple[TopicFit, float, AnswerFit, float]:
    """The topic gate with its bound swept (``TOPIC_BOUNDS``): per bound the gate, then the
    abstention threshold chosen with the gate's refusals counted; the bound whose pair refuses
    the most unanswerable train questions, the two kinds weighed alike: the mean of the shares
    refused of real unanswerable questions (out of fold) and of questions asked over another
    corpus's index (a tie: the smaller bound). The second kind is what the gate is for; the
    first alone, 278 questions of which a bound moves one or two, chose the bound by chance.
    Returns the gate, its bound, the abstention fit calibrated behind it and its threshold."""
    best: tuple[float, float, TopicFit, AnswerFit, float] | None = None
    scores = fit_topic(sentence, examples, c)  # the bound moves only the threshold
    for bound in TOPIC_BOUNDS:
        topic = scores.at(bound)
        fitted, threshold = answer.gated(topic.refused).calibrated()
        real = fitted.refused(threshold)["real_unanswerable"]
        elsewhere = fitted.elsewhere_refused(threshold, topic.refused)
        refused = (real + elsewhere) / 2
        say(
            f"  topic gate bound {bound}: threshold {topic.threshold:.2f}, abstention "
            f"threshold {threshold:.2f}, refused: real unanswerable {real:.3f}, asked "
            f"elsewhere {elsewhere:.3f}"
        )
        if best is None or round(refused, 4) > best[0]:
            best = (round(refused, 4), bound, topic, fitted, threshold)
    assert best is not None
    _, bound, topic, fitted, threshold = best
    return topic, bound, fitted, threshold


def _extent_rows(
    model: ReaderModel, examples: Sequence[Example]
) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """Over the train questions whose chosen sentence holds the answer: the extent chooser's
    features, each extent's score (the mean of containment and F1), and the question class."""
    rows: list[dict[str, float]] = []
    scores: dict[str, list[float]] = {}
    classes: list[str] = []
    for e in examples:
        if not (e.question.answerable and e.cands):
            continue
        logits = sentence_logits(model.sentence, e.cands)
        best = int(np.argmax(logits))
        if not e.labels[best]:
            continue
        c = e.cands[best]
        info = ExtractiveAnswerer.question_info(e.question.question, e.engine.store, e.hits)
        shown = answer_extents(info, c)[1]
        rows.append(extent_features(info, c, shown))
        for kind, short in shown.items():
            golds = e.question.answers
            value = 0.5 * contains_answer(short.text, golds) + 0.5 * char_f1(short.text, golds)
            scores.setdefault(kind, []).append(value)
        classes.append(question_class(info))
    return matrix(rows, EXTENT_FEATURES), {k: np.array(v) for k, v in scores.items()}, classes


def _fit_gains(x: np.ndarray, scores: dict[str, np.ndarray], alpha: float) -> dict[str, Linear]:
    """Per shorter extent, a ridge regression of its score minus the quote's."""
    from sklearn.linear_model import Ridge

    standard = Standardiser.fit(x)
    out = {}
    for kind in SHORTER:
        ridge = Ridge(alpha=alpha).fit(standard(x), scores[kind] - scores[QUOTE])
        out[kind] = Linear(EXTENT_FEATURES, standard, ridge.coef_, float(ridge.intercept_))
    return out


def _said_scores(
    gains: dict[str, Linear], x: np.ndarray, scores: dict[str, np.ndarray]
) -> np.ndarray:
    chosen = [
        choose_extent(gains, dict(zip(EXTENT_FEATURES, row, strict=True))) for row in x.tolist()
    ]
    return np.array([scores[kind][i] for i, kind in enumerate(chosen)])


def fit_extent(
    model: ReaderModel, examples: Sequence[Example], say: Log
) -> tuple[dict[str, Linear], dict[str, Any]]:
    """The extent chooser: per shorter extent (short answer, clause), a ridge regression of
    how much saying it scores above the quote, on the train questions whose chosen sentence
    holds the answer; the score is the mean of containment and F1. Its ``alpha`` is swept
    by cross-validation repeated over ``EXTENT_REPEATS`` shuffles of the folds (the mean score
    of the extents chosen out of fold): one split's choice flipped between neighbouring
    penalties from refit to refit, and with it how often answers are short.
    """
    x, scores, classes = _extent_rows(model, examples)
    rng = np.random.default_rng(0)
    splits = [rng.permutation(len(x)) % FOLDS for _ in range(EXTENT_REPEATS)]
    said: dict[float, float] = {}
    for alpha in EXTENT_ALPHAS:
        total = 0.0
        for folds in splits:
            for k in range(FOLDS):
                train, test = folds != k, folds == k
                gains = _fit_gains(x[train], {m: v[train] for m, v in scores.items()}, alpha)
                total += _said_scores(gains, x[test], {m: v[test] for m, v in scores.items()}).sum()
        said[alpha] = total / (len(x) * len(splits))
        say(f"  extent chooser alpha={alpha}: out-of-fold score {said[alpha]:.4f}")
    alpha = max(EXTENT_ALPHAS, key=lambda a: (round(said[a], 4), a))  # a tie: more regularised
    by_class: dict[str, dict[str, list[float]]] = {}
    for i, cls in enumerate(classes):
        for kind, v in scores.items():
            by_class.setdefault(cls, {}).setdefault(kind, []).append(float(v[i]))
    figures = {
        "objective": "mean of containment and F1",
        "questions": len(x),
        "alpha": alpha,
        "alpha_sweep_score": {str(a): round(v, 4) for a, v in said.items()},
        "quote_only_score": round(float(scores[QUOTE].mean()), 4),
        "scores_per_class": {
            cls: {kind: round(float(np.mean(v)), 3) for kind, v in by.items()}
            for cls, by in sorted(by_class.items())
            if len(by[QUOTE]) >= MIN_CLASS
        },
    }
    return _fit_gains(x, scores, alpha), figures


def choose_threshold(prob: np.ndarray, answerable: np.ndarray) -> tuple[float, float, float]:
    """``(threshold, abstention, false abstention)``: the highest threshold whose false
    abstention is within ``FALSE_ABSTENTION_GOAL``. Refusals only grow with the threshold,
    so no other threshold within the bound refuses more. On the train parts' out-of-fold
    predictions, bootstrapped, this threshold varied half as much (sd 0.007) as the one
    maximising abstention - 3 x false abstention (sd 0.012), which also overshot the bound
    (false abstention 0.046 out of bag)."""
    rows = []
    for t in THRESHOLDS:
        abstains = prob < t
        abst = float(abstains[~answerable].mean()) if (~answerable).any() else 0.0
        false = float(abstains[answerable].mean()) if answerable.any() else 0.0
        rows.append((t, abst, false))
    within = [row for row in rows if row[2] <= FALSE_ABSTENTION_GOAL]
    return within[-1] if within else rows[0]


def _calibration(prob: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of out-of-fold probabilities."""
    edges = np.linspace(0, 1, bins + 1)
    err = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (prob >= lo) & (prob < hi if hi < 1 else prob <= hi)
        if inside.any():
            err += inside.mean() * abs(prob[inside].mean() - right[inside].mean())
    return float(err)


def answer_figures(model: ReaderModel, examples: Sequence[Example]) -> dict[str, dict[str, float]]:
    """Train figures of the fitted reader per set (in-sample: for development, not reporting)."""
    out: dict[str, dict[str, float]] = {}
    for set_name in dict.fromkeys(e.set_name for e in examples):
        rows = [e for e in examples if e.set_name == set_name]
        hit = f1 = answered_wrongly = abstained_right = 0.0
        lengths = []
        n_ans = sum(1 for e in rows if e.question.answerable) or 1
        n_un = sum(1 for e in rows if not e.question.answerable) or 1
        engine = rows[0].engine  # one embedder for every set's engine
        reader = ExtractiveAnswerer(
            model=model,
            scorer=engine.sentence_similarity,
            query_vector=engine.retriever.embed_query,
            vector_space=vector_space(engine.embedder.name),
        )
        for e in rows:
            a = reader.answer(e.question.question, e.hits, e.engine.store)
            if e.question.answerable:
                hit += a.answered and contains_answer(a.answer, e.question.answers)
                f1 += char_f1(a.answer, e.question.answers) if a.answered else 0.0
                answered_wrongly += not a.answered
                lengths.append(len(a.answer))
            else:
                abstained_right += not a.answered
        out[set_name] = {
            "answer_hit": hit / n_ans,
            "f1": f1 / n_ans,
            "false_abstention": answered_wrongly / n_ans,
            "abstention": abstained_right / n_un,
            "answer_chars_p50": float(np.median(lengths)) if lengths else 0.0,
        }
    return out


def fit_reader(
    settings: Settings,
    questions_path: Path,
    cmrc_path: Path | None,
    index_root: Path,
    log: Log | None = None,
    cmrc_extra: Sequence[Path] = (),
    oof_answers: Path | None = None,
    news: Path | None = None,
) -> FitReport:
    say = log or (lambda message: print(message, file=sys.stderr))
    seed_settings = settings.model_copy(update={"index_dir": index_root / "seeds"})
    engine, _ = build_engine(seed_settings, settings.corpus)
    seeds = part("seeds", load_questions(questions_path), "train")
    say(f"fit-reader: {len(seeds)} train seed questions")
    examples = collect(engine, seeds, "seeds", say)
    corpora: list[tuple[RagEngine, Sequence[Question]]] = [(engine, seeds)]
    if cmrc_path is not None:
        data = load_cmrc(cmrc_path)
        corpus = write_corpus(data, index_root / "cmrc-corpus.jsonl")
        cmrc_settings = settings.model_copy(
            update={"index_dir": index_root / "cmrc", "corpus": [corpus]}
        )
        cmrc_engine, _ = build_engine(cmrc_settings, [corpus], embedder=engine.embedder)
        cmrc = part("cmrc", data.questions, "train")
        say(f"fit-reader: {len(cmrc)} train CMRC questions")
        examples += collect(cmrc_engine, cmrc, "cmrc", say)
        corpora.append((cmrc_engine, cmrc))
        train_contexts = {q.doc_id for q in cmrc}
        for path in cmrc_extra:
            extra = load_questions(path)
            outside = [q.id for q in extra if q.doc_id not in train_contexts]
            if outside:
                raise QuestionSetError(
                    f"{path}: {len(outside)} questions are not about a CMRC train context "
                    f"(first: {outside[0]}); only train contexts may be fitted on"
                )
            say(f"fit-reader: {len(extra)} questions from {path}")
            examples += collect(cmrc_engine, extra, path.stem, say)
    if news is not None:
        news_engine, questions = open_docs_set(settings, news, index_root / NEWS, engine.embedder)
        say(f"fit-reader: {len(questions)} questions over the documents of {news}")
        examples += collect(news_engine, questions, NEWS, say)
        corpora.append((news_engine, questions))
    examples += collect_elsewhere(corpora, say)
    sentence, c, sweep = fit_sentence(examples, say)
    swept, answer_c, answer_auc = fit_answer_swept(sentence, examples, say)
    topic, topic_bound, fitted, threshold = fit_topic_swept(
        sentence, examples, swept, answer_c, say
    )
    answer, oof, right = fitted.model, fitted.oof, fitted.right
    # calibration of the P the reader reports: over the choices the gate lets through (those
    # it refuses stand at P = 0 in ``oof``, right or not)
    passed = ~(np.isin(fitted.keys, list(topic.refused)) & fitted.real)
    calibration = _calibration(oof[passed], right[passed])
    refused = fitted.refused(threshold)
    abst, false = refused["unanswerable"], refused["false_abstention"]
    oracle = np.mean([e.labels.any() for e in examples if e.question.answerable])
    extent, extent_figures = fit_extent(ReaderModel(sentence, answer, threshold), examples, say)
    model = ReaderModel(
        sentence,
        answer,
        threshold,
        extent,
        {
            "fitted_on": "train parts of eval/questions.jsonl and CMRC 2018 trial (rag.bench.splits)"
            + "".join(f", {p}" for p in [*cmrc_extra, *([news] if news else [])]),
            "questions": len(examples),
            "candidates": int(sum(len(e.cands) for e in examples)),
            "C": c,
            "C_sweep_selection_accuracy": {str(k): round(v, 4) for k, v in sweep.items()},
            "abstention_C": answer_c,
            "abstention_C_sweep_auc": {str(k): round(v, 4) for k, v in answer_auc.items()},
            "oracle_selection": round(float(oracle), 4),
            "extent_chooser": extent_figures,
            "threshold_objective": (
                f"most abstention with false abstention <= {FALSE_ABSTENTION_GOAL} in every "
                "question set, per language (English probabilities shifted to share the "
                "threshold)"
            ),
            "topic_gate": {
                "C": answer_c,
                "bound": topic_bound,
                "bounds_swept": list(TOPIC_BOUNDS),
                "threshold": topic.threshold,
                "questions_asked_elsewhere": sum(e.set_name == ELSEWHERE for e in examples),
                "objective": (
                    "the bound whose gate, with the abstention threshold chosen after it, "
                    "refuses most unanswerable train questions out of fold: the mean of the "
                    "shares refused of real unanswerable ones and of ones asked elsewhere"
                ),
            },
            "out_of_fold_false_abstention_per_set": {
                name: round(refused[f"false_abstention_{name}"], 4) for name in fitted.set_names
            },
            "out_of_fold": {
                "abstention": round(abst, 4),
                "false_abstention": round(false, 4),
                "calibration_error": round(calibration, 4),
                **{
                    f"refused_{k}": round(refused[k], 4)
                    for k in ("real_unanswerable", "synthetic_near_miss", "false_abstention")
                },
            },
        },
        topic.model,
        topic.threshold,
        vector_space(engine.embedder.name),
    )
    lines = [
        f"extent chooser: alpha={extent_figures['alpha']} (swept), out-of-fold score "
        f"{extent_figures['alpha_sweep_score'][str(extent_figures['alpha'])]:.3f} against "
        f"{extent_figures['quote_only_score']:.3f} quoting always",
        f"sentence model: C={c} (swept), out-of-fold selection {sweep[c]:.3f}, oracle {oracle:.3f}",
        f"abstention: C={answer_c} (swept), threshold {threshold:.2f}; out of fold: ROC AUC "
        f"{answer_auc[answer_c]:.3f}, abstention {abst:.3f}, "
        f"false abstention {false:.3f}, calibration error {calibration:.3f} (behind the "
        "gate); "
        f"refused: real unanswerable {refused['real_unanswerable']:.3f} "
        f"(n={int((~fitted.answerable & fitted.real).sum())}), synthetic near misses "
        f"{refused['synthetic_near_miss']:.3f}",
        f"topic gate: bound {topic_bound} (swept), threshold {topic.threshold:.2f}; out of fold "
        f"it refuses {sum(k.startswith(ELSEWHERE) for k in topic.refused)} of "
        f"{sum(e.set_name == ELSEWHERE for e in examples)} questions asked over another "
        "corpus's index",
    ]
    if oof_answers is not None:
        from rag.bench import oof_answers as refit

        penalties = refit.Penalties(c, answer_c, float(extent_figures["alpha"]), topic_bound)
        outcomes = refit.oof_answers(examples, penalties, say)
        refit.write(outcomes, oof_answers)
        lines += refit.summary(outcomes)
    for set_name, figures in answer_figures(model, examples).items():
        shown = ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
        lines.append(f"train (in-sample) {set_name}: {shown}")
    return FitReport(model, lines)
