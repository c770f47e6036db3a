"""Benchmark metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from rag.bench.metrics import (
    Outcome,
    char_f1,
    contains_answer,
    first_relevant,
    ndcg_at,
    percentile,
    recall_at,
    reciprocal_rank,
    score,
    score_by_type,
    segment,
)
from rag.bench.questions import Question
from rag.bench.sweeps import SweepRow, favoured, handled, joint, sign_test


def _q(qid: str, qtype: str = "fact", answers: tuple[str, ...] = ("1690家",)) -> Question:
    if qtype == "unanswerable":
        answers = ()
    return Question(qid, "问题？", answers, "证据" if answers else "", "doc", qtype)  # type: ignore[arg-type]


def test_rank_metrics() -> None:
    assert first_relevant([False, False, True, True]) == 3
    assert first_relevant([False]) is None
    assert recall_at(3, 1) == 0.0
    assert recall_at(3, 3) == 1.0
    assert recall_at(None, 10) == 0.0
    assert reciprocal_rank(4) == 0.25
    assert reciprocal_rank(None) == 0.0
    assert ndcg_at(1) == 1.0
    assert ndcg_at(3) == pytest.approx(0.5)  # 1 / log2(4)
    assert ndcg_at(11, 10) == 0.0


def test_segment_is_cmrc_mixed_segmentation() -> None:
    # CJK characters one by one, numbers and Latin words whole, punctuation and markers gone.
    assert segment("累计达1690家[1]。") == ["累", "计", "达", "1690", "家"]
    assert segment("Hello, World 2.5%") == ["hello", "world", "2.5", "%"]
    assert segment("“细胞谷”") == ["细", "胞", "谷"]


def test_char_f1_hand_computed() -> None:
    # Prediction: 11 tokens; gold "1690家": 2 tokens, both in the longest common run.
    # P = 2/11, R = 1, F1 = 2PR / (P + R) = 4/13.
    assert char_f1("光谷瞪羚企业累计达1690家[1]。", ["1690家"]) == pytest.approx(4 / 13)
    assert char_f1("1690家", ["1690家"]) == 1.0
    # Best gold wins; the common run must be contiguous ("赵荣" of "赵荣凯": 2/3 recall).
    assert char_f1("赵荣", ["无关", "赵荣凯"]) == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))
    assert char_f1("hello world", ["hello"]) == pytest.approx(2 / 3)
    assert char_f1("", ["1690家"]) == 0.0
    assert char_f1("完全不同", ["1690家"]) == 0.0


def test_contains_answer_ignores_markers_and_whitespace_only() -> None:
    assert contains_answer("累计达 1690 家[1]。", ["1690家"])
    assert contains_answer("ＡＩ＋智能硬件", ["AI+智能硬件"])  # full width folds to half width
    assert not contains_answer("见资料[1]", ["1"])  # the marker is not an answer
    assert not contains_answer("1690万元", ["1690家"])
    assert not contains_answer("任何文本", [""])


def test_score_aggregates_answerable_and_unanswerable_separately() -> None:
    outcomes = [
        Outcome(_q("a"), 1, "达1690家[1]。", True, 10.0),
        Outcome(_q("b"), 3, "其他答案[1]。", True, 20.0),
        Outcome(_q("c"), None, "资料中未找到该问题的答案。", False, 30.0),
        Outcome(_q("u1", "unanswerable"), None, "资料中未找到。", False, 40.0),
        Outcome(_q("u2", "unanswerable"), None, "瞎说[1]。", True, 50.0),
    ]
    s = score(outcomes)
    assert (s.questions, s.answerable, s.unanswerable) == (5, 3, 2)
    assert s.recall[1] == pytest.approx(1 / 3)
    assert s.recall[5] == pytest.approx(2 / 3)
    assert s.mrr == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert s.ndcg10 == pytest.approx((1 + 0.5 + 0) / 3)
    assert s.answer_hit == pytest.approx(1 / 3)
    assert s.f1 == pytest.approx((char_f1("达1690家", ["1690家"]) + 0 + 0) / 3)
    assert s.abstention_accuracy == 0.5
    assert s.false_abstention == pytest.approx(1 / 3)
    assert s.latency_p50_ms == 30.0
    assert s.latency_p95_ms == pytest.approx(48.0)  # linear interpolation between 40 and 50
    assert handled(outcomes) == pytest.approx(2 / 5)  # a answered right, u1 rightly abstained


def test_abstained_answer_scores_zero_even_if_text_matches() -> None:
    q = _q("a", answers=("资料",))
    s = score([Outcome(q, 1, "资料中未找到该问题的答案。", False, 1.0)])
    assert s.answer_hit == 0.0
    assert s.f1 == 0.0
    assert s.false_abstention == 1.0


def test_score_without_unanswerable_has_no_abstention_accuracy() -> None:
    s = score([Outcome(_q("a"), 2, "x", True, 1.0)])
    assert s.abstention_accuracy is None
    assert s.flat()["recall@1"] == 0.0
    assert s.flat()["recall@5"] == 1.0


def test_score_by_type_splits_outcomes() -> None:
    outcomes = [
        Outcome(_q("a", "fact"), 1, "1690家", True, 1.0),
        Outcome(_q("b", "english"), None, "x", True, 1.0),
    ]
    by_type = score_by_type(outcomes)
    assert by_type["fact"].recall[1] == 1.0
    assert by_type["english"].recall[1] == 0.0


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None
    assert math.isclose(percentile([1.0, 3.0], 50) or 0.0, 2.0)


def test_favoured_prefers_the_first_key_then_the_next_then_the_default() -> None:
    rows = [
        SweepRow({"x": 1}, {"recall@5": 0.9, "mrr": 0.5}),
        SweepRow({"x": 2}, {"recall@5": 0.9, "mrr": 0.7}),
        SweepRow({"x": 3}, {"recall@5": 0.9, "mrr": 0.7}, default=True),
        SweepRow({"x": 4}, {"recall@5": 0.8, "mrr": 0.9}),
    ]
    assert favoured(rows, ("recall@5", "mrr")) is rows[2]
    assert favoured(rows, ("-recall@5",)) is rows[3]
    assert favoured([], ("mrr",)) is None


def test_favoured_treats_gaps_within_the_tolerance_as_ties() -> None:
    rows = [
        SweepRow({"x": 1}, {"recall@5": 140 / 144, "mrr": 0.889}),
        SweepRow({"x": 2}, {"recall@5": 139 / 144, "mrr": 0.888}, default=True),
        SweepRow({"x": 3}, {"recall@5": 137 / 144, "mrr": 0.950}),
    ]
    assert favoured(rows, ("recall@5", "mrr")) is rows[0]
    # Rows 1 and 2 are one question apart: a tie on both keys; row 3 is three behind.
    assert favoured(rows, ("recall@5", "mrr"), tolerance=1 / 144) is rows[1]


def test_joint_counts_questions_handled_in_both_sets() -> None:
    seeds = [
        SweepRow(
            {"chunk_size": 100, "chunk_overlap": 1}, {"handled": 0.5, "recall@5": 1.0, "mrr": 1.0}
        ),
        SweepRow(
            {"chunk_size": 100, "chunk_overlap": 0}, {"handled": 1.0, "recall@5": 1.0, "mrr": 1.0}
        ),
        SweepRow(
            {"chunk_size": 200, "chunk_overlap": 1},
            {"handled": 0.75, "recall@5": 0.5, "mrr": 0.5},
            True,
        ),
    ]
    cmrc = [
        SweepRow({"chunk_size": 100}, {"answer_hit": 0.5, "recall@5": 0.5, "mrr": 0.25}),
        SweepRow({"chunk_size": 200}, {"answer_hit": 0.75, "recall@5": 1.0, "mrr": 1.0}, True),
        SweepRow(
            {"chunk_size": 300}, {"answer_hit": 1.0, "recall@5": 1.0, "mrr": 1.0}
        ),  # not in seeds
    ]
    rows = joint(seeds, cmrc, n_seeds=4, n_cmrc=4)
    # Chunk size 100 pairs with the default overlap (1), not with the better overlap 0.
    assert [(r.setting, r.metrics["handled"], r.default) for r in rows] == [
        ({"chunk_size": 100}, 2 + 2, False),
        ({"chunk_size": 200}, 3 + 3, True),
    ]
    assert rows[0].metrics["recall@5"] == 0.75 and rows[1].metrics["mrr"] == 0.75
    assert favoured(rows, ("handled", "recall@5"), tolerance=1) is rows[1]


def test_sign_test_counts_discordant_questions() -> None:
    # 6 questions only a handles, 0 only b: p = 2 * (1/2)^6 = 1/32.
    a = [True] * 8 + [False] * 2
    b = [True, True] + [False] * 8
    assert sign_test(a, b) == (6, 0, 2 / 64)
    # 3 against 1: p = 2 * (1 + 4) / 16 = 0.625, no reason to move a default.
    wins, losses, p = sign_test([True, True, True, False], [False, False, False, True])
    assert (wins, losses) == (3, 1) and p == pytest.approx(0.625)
    assert sign_test([True], [True]) == (0, 0, 1.0)  # nothing discordant


def test_joint_rows_carry_both_sets_per_question_results() -> None:
    seeds = [SweepRow({"x": 1}, {"handled": 0.5}, True, (True, False))]
    cmrc = [SweepRow({"x": 1}, {"answer_hit": 1.0}, True, (True,))]
    [row] = joint(seeds, cmrc, n_seeds=2, n_cmrc=1)
    assert row.right == (True, False, True) and row.metrics["handled"] == 2
