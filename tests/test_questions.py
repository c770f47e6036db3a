"""Question analysis and answer spans: the pieces the extractive answerer is built from."""

from __future__ import annotations

import pytest

from rag.answer.reader.answer_spans import (
    date_spans,
    number_spans,
    org_spans,
    person_spans,
)
from rag.answer.reader.question import analyse
from rag.text.units import unit_class


@pytest.mark.parametrize(
    ("question", "qtype", "unit"),
    [
        ("光谷瞪羚企业累计达到多少家？", "number", "家"),
        ("南阳高新区共发放了多少奖励资金？", "number", "元"),
        ("前海合作区营收同比增长了多少？", "number", "%"),
        ("每年最高可获得多少支持？", "number", None),  # "支持" is not the measure word 支
        ("项目的建设期是多久？", "duration", None),
        ("细胞生态海河实验室是哪一天正式揭牌的？", "date", None),
        ("光谷创新发展研究院的院长是谁？", "person", None),
        ("试验中心由哪家机构牵头建设？", "org", None),
        ("试验中心设在哪里？", "place", None),
        ("光谷出台了什么举措？", "other", None),
        ("他练水的时间是别人的一半，为什么成绩非凡？", "other", None),  # why, not when
        ("How many gazelle companies does Optics Valley have?", "number", "家"),
        ("How tall is the robot?", "number", "米"),  # any unit of length fits
        ("Who took the photo?", "person", None),
        ("蘭州高新區集聚了多少家生物醫藥企業？", "number", "家"),
    ],
)
def test_question_type_and_unit(question: str, qtype: str, unit: str | None) -> None:
    info = analyse(question)
    assert (info.qtype, info.unit) == (qtype, unit)


def test_question_details_used_against_near_misses() -> None:
    info = analyse("石河子经开区2022年全年向企业兑现了多少奖补资金？")
    assert info.dates == ("2022",)
    assert analyse("细胞生态海河实验室的主任是谁？").roles == ("主任",)
    assert analyse("哪一年成立的？").granularity == "year"
    assert "珠海" in analyse("珠海高新区今年新认定了多少家企业？").entities
    assert "启明930" in analyse("“启明930”芯片算力是多少？").entities
    assert not analyse("How many?").focus


def test_number_spans_keep_units_and_skip_dates() -> None:
    text = "2023年11月15日,光谷瞪羚企业累计达1690家,面积近30万平方米,增长21.6%,投资50亿-100亿元"
    found = [s.text for s in number_spans(text)]
    assert "1690家" in found and "近30万平方米" in found and "21.6%" in found
    assert "50亿-100亿元" in found
    assert not any(t.startswith(("2023", "11月", "15日")) for t in found)
    assert unit_class("亿元") == unit_class("万元") == "money"
    assert unit_class("平方公里") == "area"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("卡塞雷斯城是罗马人在公元前25年建立的。", "公元前25年"),
        ("兴起于20世纪80年代初", "20世纪80年代初"),
        ("流行于1990年代末", "1990年代末"),
    ],
)
def test_decades_and_centuries_are_dates(text: str, span: str) -> None:
    assert span in [s.text for s in date_spans(text)]


def test_quantities_in_other_currencies_and_latin_units() -> None:
    assert [(s.text, unit_class(s.unit)) for s in number_spans("婚礼耗资5亿日圆，全长2cm")] == [
        ("5亿日圆", "money"),
        ("2cm", "length"),
    ]
    # Digits with a multiplier are a quantity, not a year.
    assert [s.text for s in number_spans("生存了近2,400万年")] == ["近2,400万年"]


def test_which_ones_is_not_how_many() -> None:
    assert analyse("达曼的卫星城有哪几座？").qtype != "number"
    assert analyse("林永康有几个孩子？").qtype == "number"


def test_date_spans() -> None:
    assert [s.text for s in date_spans("2021年11月16日揭牌,今年3月完成,11月下旬到访")] == [
        "2021年11月16日",
        "今年3月",
        "11月下旬",
    ]


def test_person_spans_carry_the_titles_before_the_name() -> None:
    spans = person_spans("国家纳米智造产业创新中心董事长、广纳院副院长柴剑宇介绍")
    assert [(s.text, s.roles) for s in spans if s.text == "柴剑宇"] == [
        ("柴剑宇", ("董事长", "副院长"))
    ]
    vice = person_spans("细胞生态海河实验室副主任周家喜介绍")
    assert [s.roles for s in vice if s.text == "周家喜"] == [("副主任",)]
    # A transliterated name is one name, interpunct and all (an invented one).
    foreign = person_spans("据报道，新任总经理阿莉娜·沃伦斯卡表示将改版")
    assert "阿莉娜·沃伦斯卡" in [s.text for s in foreign]


def test_org_spans_find_names_and_agents() -> None:
    found = {s.text for s in org_spans("试验中心设在深圳园区,由深圳医学科学院牵头建设。")}
    assert "深圳医学科学院" in found
    found = {s.text for s in org_spans("集聚甘肃皓天科技股份有限公司等领先企业")}
    assert any(t.endswith("甘肃皓天科技股份有限公司") for t in found)
