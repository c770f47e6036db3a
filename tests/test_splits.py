"""Train/held-out splits and the held-out scoring: fixed, grouped, and labelled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.answer.reader.model import Logistic, Standardiser
from rag.bench.cmrc import load_cmrc
from rag.bench.fit_reader import (
    FALSE_ABSTENTION_GOAL,
    THRESHOLDS,
    AnswerFit,
    _fit_logistic,
    _set_threshold,
    _shifted,
    best_auc_c,
    choose_threshold,
    one_se_choice,
    topic_threshold,
)
from rag.bench.held_out import list_complete, part_scores, run_cmrc_english
from rag.bench.metrics import Outcome
from rag.bench.questions import Question, QuestionSetError, load_questions
from rag.bench.splits import CMRC_ENGLISH, HELD_OUT_SHARE, NEWS, part, split_of
from rag.config import Settings
from rag.index.embeddings import HashEmbedder
from tests.conftest import ROOT


def _q(qid: str, doc: str = "d", qtype: str = "fact", **kw: object) -> Question:
    return Question(qid, "问题？", ("答案",), "证据答案", doc, qtype, **kw)  # type: ignore[arg-type]


def test_the_split_is_fixed_and_near_the_documented_share() -> None:
    questions = [_q(f"Q{i:04d}") for i in range(2000)]
    held = part("seeds", questions, "held-out")
    assert abs(len(held) / len(questions) - HELD_OUT_SHARE) < 0.04
    assert [q.id for q in held] == [q.id for q in part("seeds", questions, "held-out")]
    assert split_of("seeds", questions[0]) == split_of("seeds", _q("Q0000", doc="other"))


def test_cmrc_questions_of_one_context_fall_in_one_part() -> None:
    for context in range(50):
        splits = {
            split_of("cmrc", _q(f"C{context}-{i}", f"ctx{context}", "cmrc")) for i in range(5)
        }
        assert len(splits) == 1


def test_the_fresh_set_is_held_out_whole() -> None:
    assert {split_of("fresh", _q(f"F{i}")) for i in range(20)} == {"held-out"}
    assert {split_of(CMRC_ENGLISH, _q(f"E{i}", qtype="english")) for i in range(20)} == {"held-out"}


def test_the_news_set_is_train_whole() -> None:
    assert {split_of(NEWS, _q(f"N{i}")) for i in range(20)} == {"train"}


@pytest.mark.parametrize("directory", ["eval/fresh", "eval/train/news"])
def test_the_documents_and_questions_sets_validate(directory: str) -> None:
    # Each set's own validator: answers and evidence verbatim, types and counts as documented.
    done = subprocess.run(
        [sys.executable, str(ROOT / directory / "check.py")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout
    assert load_questions(ROOT / directory / "questions.jsonl")


def _o(q: Question, answer: str, answered: bool = True) -> Outcome:
    return Outcome(q, 1, answer, answered, 1.0)


def test_a_list_is_complete_only_with_every_item() -> None:
    q = _q("L1", qtype="list", items=("红茶", "绿茶", "白茶"))
    assert list_complete([_o(q, "红茶、绿茶、白茶[1]。")]) == 1.0
    assert list_complete([_o(q, "红茶、绿茶[1]。")]) == 0.0
    assert list_complete([_o(_q("F1"), "答案")]) is None


def test_parts_are_labelled_and_keep_their_outcomes() -> None:
    outcomes = [_o(_q(f"F{i}"), "答案") for i in range(5)]
    (only,) = part_scores("fresh", outcomes)
    assert only.label == "fresh (held-out)" and only.outcomes == outcomes
    assert only.scores.answer_hit == 1.0


def test_the_threshold_refuses_most_within_the_false_abstention_bound() -> None:
    # 100 answerable questions scoring 0.30-0.70 (two of them low, 0.10 and 0.12),
    # unanswerable ones below 0.25.
    prob = np.concatenate([np.linspace(0.30, 0.70, 98), [0.10, 0.12], np.linspace(0.0, 0.25, 20)])
    answerable = np.array([True] * 100 + [False] * 20)
    threshold, abstention, false = choose_threshold(prob, answerable)
    assert false <= FALSE_ABSTENTION_GOAL and abstention == 1.0
    assert 0.25 < threshold <= 0.32  # past every unanswerable, before a third false refusal


def test_no_threshold_within_the_bound_means_the_lowest() -> None:
    prob = np.array([0.01, 0.01, 0.9, 0.01])
    answerable = np.array([True, True, True, False])
    assert choose_threshold(prob, answerable)[0] == min(THRESHOLDS)


def test_the_most_regularised_c_within_one_standard_error_is_chosen() -> None:
    scores = {0.03: 0.70, 0.1: 0.775, 0.3: 0.78, 1.0: 0.781}
    assert one_se_choice(scores, 500) == 0.1  # se ~ 0.018: 0.1 is within it, 0.03 is not
    assert one_se_choice(scores, 10**7) == 1.0  # with that much data only the best will do


def test_the_abstention_c_is_the_best_auc_and_of_ties_the_most_regularised() -> None:
    assert best_auc_c({0.03: 0.8410, 0.1: 0.8431, 0.3: 0.8434, 1.0: 0.84341}) == 0.3
    assert best_auc_c({0.03: 0.85, 0.1: 0.84}) == 0.03


def test_the_english_shift_moves_only_english_rows_logits() -> None:
    x = np.array([[0.2, 0.0], [0.5, 1.0], [0.9, 0.0], [0.1, 1.0]])
    model = Logistic(("lex", "english"), Standardiser.fit(x), np.array([1.5, -0.4]), 0.3)
    moved = _shifted(model, 0.7)
    assert np.allclose(moved.logit(x) - model.logit(x), [0.0, 0.7, 0.0, 0.7])


def test_each_set_keeps_false_abstention_within_the_bound() -> None:
    # one refusal is within the bound for set a (1 of 40), not for set b (1 of 10)
    prob = np.r_[np.full(39, 0.9), 0.45, np.full(9, 0.9), 0.25]
    answerable = np.ones(50, dtype=bool)
    sets = np.array(["a"] * 40 + ["b"] * 10)
    everything = np.ones(50, dtype=bool)
    assert _set_threshold(prob, answerable, sets, everything) == pytest.approx(0.25)
    assert _set_threshold(prob, answerable, sets, sets == "a") == pytest.approx(0.89)


def test_refusals_are_counted_apart_for_real_and_synthetic_near_misses() -> None:
    fit = AnswerFit(
        model=None,  # type: ignore[arg-type]  # only the predictions are read
        oof=np.array([0.9, 0.1, 0.1, 0.5, 0.1, 0.9]),
        right=np.array([True, False, False, False, False, False]),
        answerable=np.array([True, True, False, False, False, False]),
        real=np.array([True, True, True, True, False, False]),
        sets=np.array(["a"] * 6),
        english=np.zeros(6, dtype=bool),
        keys=np.array([f"a:q{i}" for i in range(6)]),
    )
    assert fit.refused(0.3) == {
        "real_unanswerable": 0.5,
        "synthetic_near_miss": 0.5,
        "false_abstention": 0.5,
        "unanswerable": 0.5,
        "false_abstention_a": 0.5,
    }
    # The topic gate's refusals count at any threshold; it never touches a replay's row.
    gated = fit.gated({"a:q3", "a:q5"})
    assert gated.refused(0.3)["real_unanswerable"] == 1.0
    assert gated.refused(0.3)["synthetic_near_miss"] == 0.5


def test_the_sets_written_for_fitting_ask_about_train_contexts_only() -> None:
    cmrc = load_cmrc(ROOT / "eval/data/cmrc2018_trial.json")
    train_contexts = {q.doc_id for q in part("cmrc", cmrc.questions, "train")}
    extra = sorted((ROOT / "eval/train").glob("*.jsonl"))
    assert extra, "eval/train holds the sets written over CMRC train contexts"
    for path in extra:
        questions = load_questions(path)
        assert {q.doc_id for q in questions} <= train_contexts, path
        assert all(q.answerable == bool(q.answers) for q in questions), path


def test_the_english_held_out_set_asks_about_held_out_contexts_only(tmp_path: Path) -> None:
    cmrc = load_cmrc(ROOT / "eval/data/cmrc2018_trial.json")
    path = ROOT / "eval/held_out/cmrc_english.jsonl"
    if path.exists():
        held = {q.doc_id for q in part("cmrc", cmrc.questions, "held-out")}
        assert {q.doc_id for q in load_questions(path)} <= held
    # a question about a train context is refused before anything is asked
    train = part("cmrc", cmrc.questions, "train")[0]
    bad = tmp_path / "english.jsonl"
    bad.write_text(
        json.dumps({"id": "EN1", "question": "Who?", "answers": ["某"], "evidence": "",
                    "doc_id": train.doc_id, "type": "english"}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(QuestionSetError, match="train contexts"):
        run_cmrc_english(Settings(), bad, tmp_path / "index", HashEmbedder(), 5, print)


def test_the_abstention_fit_is_sklearns_with_evidence_signs_held() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = x[:, 0] - x[:, 1] + rng.normal(size=400) > 0.3
    free = _fit_logistic(x, y, ("a", "b", "c"), 0.3)  # no sign known: sklearn's objective
    clf = LogisticRegression(C=0.3, class_weight="balanced").fit(free.standard(x), y)
    assert np.allclose(free.coef, clf.coef_[0], atol=1e-3)
    # "lex_article" evidence only counts for an answer: its negative weight is held at zero.
    held = _fit_logistic(x, y, ("a", "lex_article", "c"), 0.3)
    assert free.coef[1] < 0 and held.coef[1] == 0.0 and held.coef[0] > 0


def test_the_topic_gate_refuses_within_its_bound_in_every_set() -> None:
    # Set "a": 100 on-topic questions, one of them scoring 0.05; set "b": 50 on topic from
    # 0.30 up. Off-topic ones score below 0.2.
    prob = np.concatenate(
        [[0.05], np.linspace(0.3, 0.9, 99), np.linspace(0.3, 0.9, 50), [0.1] * 30]
    )
    on_topic = np.array([True] * 150 + [False] * 30)
    sets = np.array(["a"] * 100 + ["b"] * 50 + ["x"] * 30)
    assert topic_threshold(prob, on_topic, sets, 0.0) == 0.05  # refuses no on-topic question
    assert topic_threshold(prob, on_topic, sets, 0.01) == 0.3  # one in "a", none in "b"
    assert topic_threshold(prob, on_topic, sets, 0.01) <= 0.3


def test_a_model_file_keeps_its_topic_gate() -> None:
    from rag.answer.reader.model import ReaderModel, load_model

    shipped = load_model()
    assert shipped.topic is not None and 0 < shipped.topic_threshold < 1
    again = ReaderModel.of(shipped.to_json())
    assert again.topic is not None and again.topic.features == shipped.topic.features
    assert again.topic_threshold == shipped.topic_threshold
    older = {k: v for k, v in shipped.to_json().items() if not k.startswith("topic")}
    assert ReaderModel.of(older).topic is None  # a file from before the gate: no gate
