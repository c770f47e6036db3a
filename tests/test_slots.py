"""The slot a question's own words frame in a sentence."""

from __future__ import annotations

import pytest

from rag.answer.reader.question_frame import Frame, find_slot, frame
from rag.text.normalize import fold


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("乍都节公园是由谁捐献土地建造出来的？", Frame("乍都节公园是由", "捐献土地建造出来的")),
        ("行政权名义上属于谁？", Frame("行政权名义上属于", "")),
        ("谁饰演的Ember市长？", Frame("", "饰演的ember市长")),
        ("光谷瞪羚企业累计达到多少家？", Frame("光谷瞪羚企业累计达到", "家")),
        ("为什么吉斯伯恩的畜牧业发达？", None),  # a reason is a clause, not a slot
        ("「碧草如茵」景致形成的原因是什么？", None),
        ("阿閦佛又称之为什么？", Frame("阿閦佛又称之为", "")),  # "as what", not "why"
        ("会强制所有的参与者都必须裸体吗？", None),
        ("谁？", None),
    ],
)
def test_frame_around_the_question_word(question: str, expected: Frame | None) -> None:
    assert frame(question.lower()) == expected


@pytest.mark.parametrize(
    ("question", "sentence", "answer", "whole"),
    [
        # Both sides found: the slot is what lies between them.
        ("乍都节公园是由谁捐献土地建造出来的？", "公园由泰国国家铁路局捐献土地建造，于1975年开放。", "泰国国家铁路局", True),
        # The question word ends the question: from the left side to the clause break, and
        # a copula may differ ("是" / "为").
        ("基金会现任董事会主席是谁？", "现任董事会主席为约翰·麦克阿瑟（John H. McArthur）教授。", "约翰·麦克阿瑟（John H. McArthur）教授", True),
        ("谁饰演的Ember市长？", "由贝尔·默里饰演的Ember市长一角。", "贝尔·默里", True),
        # Only the left side of a two-sided frame: a slot, but not a whole one; an
        # enumeration runs on to the clause break.
        ("龙胆分布在哪些地区？", "分布在俄罗斯、日本、朝鲜等地，生长于海拔400米的地区。", "俄罗斯、日本、朝鲜等地", False),
    ],
)  # fmt: skip
def test_slot(question: str, sentence: str, answer: str, whole: bool) -> None:
    f = frame(question.lower())
    assert f is not None
    slot = find_slot(f, fold(sentence))
    assert slot is not None
    assert (sentence[slot.start : slot.end], slot.whole) == (answer, whole)


def test_no_slot_when_the_question_words_are_absent_or_too_far_apart() -> None:
    f = frame("乍都节公园是由谁捐献土地建造出来的？")
    assert f is not None
    assert find_slot(f, fold("曼谷有许多公园。")) is None
    far = "由" + "很" * 50 + "捐献土地"
    slot = find_slot(f, fold(far))
    assert slot is None or not slot.whole


def test_two_matching_characters_alone_do_not_frame_a_whole_answer() -> None:
    f = frame("哪位海关官员认为两者叠加后效果会大于两者之和？".lower())
    assert f is not None
    slot = find_slot(f, fold("两种高能平台叠加政府和海关多方面政策红利。"))
    assert slot is None or not slot.whole


def test_fold_keeps_offsets() -> None:
    text = "蘭州高新區ＡＢＣ　集聚"
    assert len(fold(text)) == len(text)
    assert fold(text) == "兰州高新区abc 集聚"
