"""The slot a question's own words frame in a sentence."""

from __future__ import annotations

import pytest

from rag.answer.reader.question_frame import Frame, find_slot, frame
from rag.text.normalize import fold
from rag.text.tokens import word_bounds


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("河心岛公园是由谁出资修建的？", Frame("河心岛公园是由", "出资修建的")),
        ("司法权名义上属于谁？", Frame("司法权名义上属于", "")),
        ("谁饰演的Nova船长？", Frame("", "饰演的nova船长")),
        ("滨江园区企业累计达到多少家？", Frame("滨江园区企业累计达到", "家")),
        ("主航道有多长？", Frame("主航道有", "")),  # a measure adjective is a question word
        ("这座桥的编号是？", Frame("这座桥的编号是", "")),  # no question word: the end
        ("为什么山谷里的葡萄园发达？", None),  # a reason is a clause, not a slot
        ("湖面景致形成的原因是什么？", None),
        ("这种花又称之为什么？", Frame("这种花又称之为", "")),  # "as what", not "why"
        ("会要求所有的参赛者都必须戴帽子吗？", None),
        ("谁？", None),
        # "好几家", "十几个": an indefinite number, no question word
        ("好几家企业参与了谁主持的项目？", Frame("好几家企业参与了", "主持的项目")),
        ("十几个村庄获得多少补贴？", Frame("十几个村庄获得", "补贴")),
    ],
)
def test_frame_around_the_question_word(question: str, expected: Frame | None) -> None:
    assert frame(question.lower()) == expected


@pytest.mark.parametrize(
    ("question", "sentence", "answer", "whole"),
    [
        # Both sides found: the slot is what lies between them.
        ("河心岛公园是由谁出资修建的？", "公园由江东航运公司出资修建，于1982年开放。", "江东航运公司", True),
        # The question word ends the question: from the left side to the clause break, and
        # a copula may differ ("是" / "为").
        ("基金会现任理事长是谁？", "现任理事长为玛丽娜·卡尔森（Marina Carlsson）女士。", "玛丽娜·卡尔森（Marina Carlsson）女士", True),
        ("谁饰演的Nova船长？", "由艾琳·福特饰演的Nova船长一角。", "艾琳·福特", True),
        # A question that stops at its copula is answered by what follows it.
        ("这座桥的编号是？", "这座桥的编号是B-17，建于1990年。", "B-17", True),
        # Only the left side of a two-sided frame: a slot, but not a whole one; an
        # enumeration runs on to the clause break.
        ("这种草分布在哪些地区？", "分布在甲省、乙省、丙省等地，生长于海拔500米的地区。", "甲省、乙省、丙省等地", False),
        # The source drops the words that narrow the hole down ("几个海外市场细分品类" ->
        # "5个品类"); the right side matches from inside the question, the left anchoring it,
        # ahead of the whole right side found in another clause.
        ("公司已在几个海外市场细分品类建立稳定的销售渠道？", "在12个海外市场细分品类中，公司已在5个品类建立稳定的销售渠道。", "5个", True),
        # An aspect particle before the hole that the source leaves out.
        ("会员人数增加到了多少人？", "会员人数由230人增加到410人。", "410", True),
    ],
)  # fmt: skip
def test_slot(question: str, sentence: str, answer: str, whole: bool) -> None:
    f = frame(question.lower())
    assert f is not None
    slot = find_slot(f, fold(sentence))
    assert slot is not None
    assert (sentence[slot.start : slot.end], slot.whole) == (answer, whole)


def test_no_slot_when_the_question_words_are_absent_or_too_far_apart() -> None:
    f = frame("河心岛公园是由谁出资修建的？")
    assert f is not None
    assert find_slot(f, fold("这座城市有许多公园。")) is None
    far = "由" + "很" * 50 + "出资修建"
    slot = find_slot(f, fold(far))
    assert slot is None or not slot.whole


def test_a_side_matched_from_inside_the_question_needs_the_other_side_anchored() -> None:
    f = frame("园区目前有几个已经具备比较成熟的配套？".lower())
    assert f is not None
    slot = find_slot(f, fold("在12个片区中，园区已在5个片区形成成熟的配套，还有一部分正在建设。"))
    assert slot is None or not slot.whole


def test_two_matching_characters_alone_do_not_frame_a_whole_answer() -> None:
    f = frame("哪位税务官员认为两项政策叠加后效果会更好？".lower())
    assert f is not None
    slot = find_slot(f, fold("两个平台叠加政府和税务多方面的支持。"))
    assert slot is None or not slot.whole


def test_fold_keeps_offsets() -> None:
    text = "濱江園區ＡＢＣ　集聚"
    assert len(fold(text)) == len(text)
    assert fold(text) == "滨江园区abc 集聚"


def test_a_side_of_the_frame_matches_up_to_a_word_s_edge() -> None:
    f = frame("这种涂料在低温下是什么状态的？")
    assert f is not None
    text = fold("这种涂料在低温下为白色粉状固体，遇热熔化。")
    unbounded = find_slot(f, text)
    assert unbounded is not None and text[unbounded.start : unbounded.end] == "白色粉"
    # the "状" of "状态" inside "粉状" is no word's edge: the slot runs to the clause break
    slot = find_slot(f, text, word_bounds(text))
    assert slot is not None and text[slot.start : slot.end] == "白色粉状固体"
