"""End-to-end out-of-fold answers on the train parts: what a reader change does, question by
question, without looking at the held-out parts.

``rag fit-reader --oof-answers FILE`` refits the whole reader (ranking model, abstention
model and its threshold, extent chooser; the penalties the full fit chose) on four of the
five folds and answers the fifth's questions with it, fold by fold; ``FILE`` gets each train
question's outcome. ``python -m rag.bench.oof_answers A.json B.json`` compares two such files
(the code before and after a change) with paired sign tests per set.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from rag.answer.reader.model import ReaderModel
from rag.answer.reader.reader import ExtractiveAnswerer, sentence_logits
from rag.bench import fit_reader as fit
from rag.bench.metrics import char_f1, contains_answer
from rag.bench.sweeps import sign_test
from rag.index.embeddings import vector_space

Log = fit.Log


@dataclass(frozen=True, slots=True)
class Outcome:
    set_name: str
    answerable: bool
    answered: bool
    hit: bool  # answered, and a gold answer is in the answer
    f1: float
    chosen_right: bool  # the chosen sentence holds a gold answer

    @property
    def refused(self) -> bool:
        return not self.answered


@dataclass(frozen=True, slots=True)
class Penalties:
    sentence_c: float
    answer_c: float
    extent_alpha: float
    topic_bound: float  # the topic gate's (its C is the abstention model's)


def oof_answers(
    examples: Sequence[fit.Example], penalties: Penalties, say: Log
) -> dict[str, Outcome]:
    """Every example's outcome, answered by a reader fitted without its fold."""
    folds = fit._folds(examples)
    out: dict[str, Outcome] = {}
    for k in range(fit.FOLDS):
        train = [e for e, f in zip(examples, folds, strict=True) if f != k]
        model = _refit(train, penalties)
        for e in (e for e, f in zip(examples, folds, strict=True) if f == k):
            out[f"{e.set_name}:{e.question.id}"] = _outcome(model, e)
        say(f"  out-of-fold answers: fold {k + 1}/{fit.FOLDS}")
    return out


def _refit(train: Sequence[fit.Example], p: Penalties) -> ReaderModel:
    rankable = [e for e in train if e.question.answerable and e.labels.any()]
    sentence = fit._fit_pairwise(rankable, p.sentence_c)
    topic = fit.fit_topic(sentence, train, p.answer_c).at(p.topic_bound)
    answer = fit.fit_answer(sentence, train, p.answer_c).gated(topic.refused)
    calibrated, threshold = answer.calibrated()
    model = ReaderModel(sentence, calibrated.model, threshold)
    x, scores, _ = fit._extent_rows(model, train)
    extent = fit._fit_gains(x, scores, p.extent_alpha)
    space = vector_space(train[0].engine.embedder.name)
    return replace(
        model, extent=extent, topic=topic.model, topic_threshold=topic.threshold, topic_space=space
    )


def _outcome(model: ReaderModel, e: fit.Example) -> Outcome:
    reader = ExtractiveAnswerer(
        model=model,
        scorer=e.engine.sentence_similarity,
        query_vector=e.engine.retriever.embed_query,
        vector_space=vector_space(e.engine.embedder.name),
    )
    a = reader.answer(e.question.question, e.hits, e.engine.store)
    golds = e.question.answers
    chosen = bool(e.cands) and bool(
        e.labels[int(np.argmax(sentence_logits(model.sentence, e.cands)))]
    )
    return Outcome(
        e.set_name,
        e.question.answerable,
        a.answered,
        a.answered and contains_answer(a.answer, golds),
        char_f1(a.answer, golds) if a.answered and golds else 0.0,
        chosen,
    )


def summary(outcomes: dict[str, Outcome]) -> list[str]:
    """Per set: answer hit, F1, false abstention, sentence choice, abstention."""
    lines = []
    for name in [*dict.fromkeys(o.set_name for o in outcomes.values()), "all"]:
        rows = [o for o in outcomes.values() if name in ("all", o.set_name)]
        shown = []
        if answerable := [o for o in rows if o.answerable]:
            shown += [
                f"answer_hit {np.mean([o.hit for o in answerable]):.3f}",
                f"f1 {np.mean([o.f1 for o in answerable]):.3f}",
                f"false_abstention {np.mean([o.refused for o in answerable]):.3f}",
                f"sentence choice {np.mean([o.chosen_right for o in answerable]):.3f}",
            ]
        if unanswerable := [o for o in rows if not o.answerable]:
            shown.append(f"abstention {np.mean([o.refused for o in unanswerable]):.3f}")
        lines.append(f"out of fold (train) {name} (n={len(rows)}): " + ", ".join(shown))
    return lines


MEASURES: dict[str, Callable[[Outcome], bool | None]] = {
    "answer_hit": lambda o: o.hit if o.answerable else None,
    "false_abstention": lambda o: o.refused if o.answerable else None,
    "sentence_choice": lambda o: o.chosen_right if o.answerable else None,
    "abstention": lambda o: None if o.answerable else o.refused,
}


def compare(a: dict[str, Outcome], b: dict[str, Outcome]) -> list[str]:
    """Paired sign tests of ``b`` against ``a`` per set and measure, over the questions both
    answered out of fold."""
    keys = [k for k in a if k in b]
    lines = []
    for name in [*dict.fromkeys(a[k].set_name for k in keys), "all"]:
        mine = [k for k in keys if name in ("all", a[k].set_name)]
        for measure, get in MEASURES.items():
            pairs = [(get(a[k]), get(b[k])) for k in mine]
            kept = [(x, y) for x, y in pairs if x is not None and y is not None]
            if not kept:
                continue
            only_b, only_a, p = sign_test([bool(y) for _, y in kept], [bool(x) for x, _ in kept])
            lines.append(
                f"{name} {measure}: {np.mean([x for x, _ in kept]):.3f} -> "
                f"{np.mean([y for _, y in kept]):.3f} (only after {only_b}, only before "
                f"{only_a}, p = {p:.3f})"
            )
    return lines


def write(outcomes: dict[str, Outcome], path: Path) -> None:
    path.write_text(json.dumps({k: asdict(o) for k, o in outcomes.items()}), encoding="utf-8")


def read(path: Path) -> dict[str, Outcome]:
    """The outcomes ``write`` wrote to ``path``; ``ValueError`` with one line if it holds
    something else or cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: Outcome(**v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a file of out-of-fold answers ({exc})") from None


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        raise SystemExit("usage: python -m rag.bench.oof_answers BEFORE.json AFTER.json")
    try:
        before, after = read(Path(args[0])), read(Path(args[1]))
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    for line in compare(before, after):
        print(line)


if __name__ == "__main__":
    main()
