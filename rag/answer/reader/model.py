"""The reader's fitted weights: two logistic models, an abstention threshold and the extent
chooser's linear models, in one file.

``data/reader_model.json`` is written by ``rag fit-reader`` (scikit-learn, the ``[bench]``
extra) from the *train* parts of the benchmarks; at run time only numpy is needed.

- ``sentence``: a ranking score of each sentence (a logistic model of "this sentence rather than
  that one holds the answer"), used to choose the sentence;
- ``answer``: P(the chosen sentence answers the question | the choice's features), calibrated
  on train questions (answerable, unanswerable, and answerable ones with their answer-bearing
  sentences removed, which stand for near misses); the reader abstains below ``threshold``;
- ``extent``: how much the answer says (the short answer, its clause, or the whole quote):
  per extent a linear model of what saying it gains over quoting (the mean of containment
  and F1) given the question's type and shape and the candidate answers' lengths and words;
  the answer says the extent with the highest predicted gain, the quote when none is above 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Self

import numpy as np

MODEL_FILE = "data/reader_model.json"


@dataclass(frozen=True)
class Standardiser:
    """Column means and deviations, and the range of each feature seen in fitting. A value
    outside that range counts as the nearest edge of it: inputs unlike anything fitted on
    (another embedder's similarities, an odd document) must not swing a score without bound."""

    mean: np.ndarray
    scale: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardiser:
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0  # a constant column
        return cls(x.mean(axis=0), scale, x.min(axis=0), x.max(axis=0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray((np.clip(x, self.low, self.high) - self.mean) / self.scale)


@dataclass(frozen=True)
class Linear:
    """A linear model over standardised features: ``standard(x) @ coef + intercept``."""

    features: tuple[str, ...]
    standard: Standardiser
    coef: np.ndarray
    intercept: float

    def value(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.standard(x) @ self.coef + self.intercept)

    def to_json(self) -> dict[str, Any]:
        st = self.standard
        return {
            "features": list(self.features),
            **{k: getattr(st, k).round(6).tolist() for k in ("mean", "scale", "low", "high")},
            "coef": self.coef.round(6).tolist(),
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Self:
        def column(key: str, absent: float = 0.0) -> np.ndarray:
            return np.asarray(data.get(key, [absent] * len(data["mean"])), dtype=np.float64)

        # a file written before the ranges were kept clips nothing
        low, high = column("low", -np.inf), column("high", np.inf)
        standard = Standardiser(column("mean"), column("scale"), low, high)
        return cls(tuple(data["features"]), standard, column("coef"), float(data["intercept"]))


class Logistic(Linear):
    """A standardised logistic regression: ``sigmoid(standard(x) @ coef + intercept)``."""

    def logit(self, x: np.ndarray) -> np.ndarray:
        return self.value(x)

    def prob(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-self.logit(x))))


@dataclass(frozen=True)
class ReaderModel:
    sentence: Logistic
    answer: Logistic
    threshold: float  # abstain when P(answer) is below it
    extent: Mapping[str, Linear] = field(default_factory=dict)  # extent -> gain over the quote
    provenance: Mapping[str, Any] = field(default_factory=dict)  # what it was fitted on
    topic: Logistic | None = None  # P(the sources speak of what is asked at all)
    topic_threshold: float = 0.0  # refuse when P(topic) is below it, whatever P(answer)
    topic_space: str = ""  # the vector space it was fitted in: it gates only indexes of it

    def to_json(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence.to_json(),
            "answer": self.answer.to_json(),
            "threshold": round(self.threshold, 4),
            "extent": {kind: model.to_json() for kind, model in self.extent.items()},
            "provenance": dict(self.provenance),
            **(
                {
                    "topic": self.topic.to_json(),
                    "topic_threshold": round(self.topic_threshold, 4),
                    "topic_space": self.topic_space,
                }
                if self.topic is not None
                else {}
            ),
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", "utf-8")

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ReaderModel:
        return cls(
            Logistic.of(data["sentence"]),
            Logistic.of(data["answer"]),
            float(data["threshold"]),
            {  # a file from before the chooser maps question classes to names: no chooser
                kind: Linear.of(m)
                for kind, m in data.get("extent", {}).items()
                if isinstance(m, dict)
            },
            data.get("provenance", {}),
            Logistic.of(data["topic"]) if "topic" in data else None,  # none in older files
            float(data.get("topic_threshold", 0.0)),
            str(data.get("topic_space", "")),
        )


def shipped_path() -> Path:
    return Path(str(resources.files("rag.answer.reader").joinpath(MODEL_FILE)))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> ReaderModel:
    """The shipped model, or the one at ``path``."""
    file = Path(path) if path else shipped_path()
    return ReaderModel.of(json.loads(file.read_text(encoding="utf-8")))


def abstain_threshold(configured: float | None) -> float:
    """The threshold the reader abstains below: the configured one (``RAG_ABSTAIN_THRESHOLD``),
    else the one fitted with the shipped model."""
    return load_model().threshold if configured is None else configured


def matrix(rows: Sequence[Mapping[str, float]], features: Sequence[str]) -> np.ndarray:
    return np.array([[r.get(f, 0.0) for f in features] for r in rows], dtype=np.float64)
