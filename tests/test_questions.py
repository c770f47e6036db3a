"""Question analysis and answer spans: the pieces the extractive answerer is built from."""

from __future__ import annotations

import pytest

from rag.answer.reader.answer_spans import (
    date_spans,
    number_spans,
    org_spans,
    person_spans,
    place_spans,
)
from rag.answer.reader.question import analyse
from rag.text.pinyin import surnames
from rag.text.units import unit_class


@pytest.mark.parametrize(
    ("question", "qtype", "unit"),
    [
        ("滨江科技园累计入驻了多少家企业？", "number", "家"),
        ("青石县今年共发放了多少补贴？", "number", "元"),
        ("该公司今年营收同比增长了多少？", "number", "%"),
        ("每户最多可获得多少支持？", "number", None),  # "支持" is not the measure word 支
        ("水库的建设期是多久？", "duration", None),
        ("新图书馆是哪一天正式开放的？", "date", None),
        ("南湖研究院的院长是谁？", "person", None),
        ("检测中心由哪家机构负责运营？", "org", None),
        ("检测中心设在哪里？", "place", None),
        ("两种工艺的区别在哪里？", "other", None),
        ("等了十几年的那位老人今年多大年纪？", "number", "岁"),  # "十几年" asks no duration
        ("这项工程用了几年？", "duration", None),  # "在哪" after an abstract noun asks what
        ("新工艺的优势主要在哪儿？", "other", None),
        ("园区推出了什么新政策？", "other", None),
        ("她练琴的时间是别人的一半，为什么进步更快？", "other", None),  # why, not when
        ("How many companies does the science park host?", "number", "家"),
        ("How tall is the tower?", "number", "米"),  # any unit of length fits
        ("Who designed the bridge?", "person", None),
        ("濱江科技園累計入駐了多少家企業？", "number", "家"),
        # measure adjectives ask for a length or a weight
        ("主航道有多长？", "number", "米"),
        ("这只海龟有多重？", "number", "公斤"),
        ("工程用了多长时间？", "duration", None),
        # a price or a rent is an amount of money
        ("这款扫地机的售价是多少？", "number", "元"),
        ("新公寓每月的租金是多少？", "number", "元"),
    ],
)
def test_question_type_and_unit(question: str, qtype: str, unit: str | None) -> None:
    info = analyse(question)
    assert (info.qtype, info.unit) == (qtype, unit)


def test_question_details_used_against_near_misses() -> None:
    info = analyse("青石县2021年全年向农户发放了多少补贴？")
    assert info.dates == ("2021",)
    assert analyse("南湖实验室的主任是谁？").roles == ("主任",)
    assert analyse("这座桥是哪一年建成的？").granularity == "year"
    assert "杭州" in analyse("杭州高新区今年新认定了多少家企业？").entities
    assert "天枢820" in analyse("“天枢820”芯片的功耗是多少？").entities
    assert not analyse("How many?").focus
    assert not analyse("本届赛事设了哪些项目？").entities  # the tagger's "哪些项目" is no name


def test_number_spans_keep_units_and_skip_dates() -> None:
    text = "2024年3月8日,园区企业累计达2150家,面积近40万平方米,增长18.4%,投资30亿-80亿元"
    found = [s.text for s in number_spans(text)]
    assert "2150家" in found and "近40万平方米" in found and "18.4%" in found
    assert "30亿-80亿元" in found
    assert not any(t.startswith(("2024", "3月", "8日")) for t in found)
    assert unit_class("亿元") == unit_class("万元") == "money"
    assert unit_class("平方公里") == "area"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("这座城堡始建于公元前30年。", "公元前30年"),
        ("流行于20世纪70年代初", "20世纪70年代初"),
        ("兴起于1980年代末", "1980年代末"),
    ],
)
def test_decades_and_centuries_are_dates(text: str, span: str) -> None:
    assert span in [s.text for s in date_spans(text)]


def test_quantities_in_other_currencies_and_latin_units() -> None:
    assert [(s.text, unit_class(s.unit)) for s in number_spans("展会耗资3亿日圆，全长5cm")] == [
        ("3亿日圆", "money"),
        ("5cm", "length"),
    ]
    # Digits with a multiplier are a quantity, not a year.
    assert [s.text for s in number_spans("延续了近1,800万年")] == ["近1,800万年"]


def test_units_of_volume_temperature_and_older_lengths_and_ordinals() -> None:
    text = "体长可达50公分，水库库容8万立方米，最低气温零下12摄氏度，她是第二位获奖者。"
    found = [(s.text, unit_class(s.unit)) for s in number_spans(text)]
    assert found == [
        ("50公分", "length"),
        ("8万立方米", "volume"),
        ("12摄氏度", "temperature"),
        ("第二位", "people"),
    ]
    assert analyse("水库库容是多少立方米？").unit == "立方米"


def test_which_ones_is_not_how_many() -> None:
    assert analyse("这座城市的卫星城有哪几座？").qtype != "number"
    assert analyse("王老师有几个孩子？").qtype == "number"


def test_date_spans() -> None:
    assert [s.text for s in date_spans("2022年5月20日开工,今年4月完成,10月下旬验收")] == [
        "2022年5月20日",
        "今年4月",
        "10月下旬",
    ]


def test_person_spans_carry_the_titles_before_the_name() -> None:
    spans = person_spans("江东新材料研究中心董事长、南湖研究院副院长林思远介绍")
    assert [(s.text, s.roles) for s in spans if s.text == "林思远"] == [
        ("林思远", ("董事长", "副院长"))
    ]
    vice = person_spans("南湖实验室副主任陈立群介绍")
    assert [s.roles for s in vice if s.text == "陈立群"] == [("副主任",)]
    # A transliterated name is one name, interpunct and all (an invented one).
    foreign = person_spans("据报道，新任总经理阿莉娜·沃伦斯卡表示将改版")
    assert "阿莉娜·沃伦斯卡" in [s.text for s in foreign]


@pytest.mark.parametrize(
    ("sentence", "names"),
    [
        # the interpunct name starts where the name does, not at the words before it
        ("该角色由奥斯卡·默顿饰演。", ["奥斯卡·默顿"]),
        ("主演包括卡洛斯·门德斯和安娜·科瓦尔奇克。", ["卡洛斯·门德斯", "安娜·科瓦尔奇克"]),
        ("该片导演为斯蒂芬妮·拉格朗日。", ["斯蒂芬妮·拉格朗日"]),
        # a name the tagger cuts into pieces is one name; a long transliterated one is kept
        ("这座塔由建筑师布鲁内蒂设计。", ["布鲁内蒂"]),
        ("设计者是工程师马尔科维奇。", ["马尔科维奇"]),
        # the tagger splits a rare last character off a name ("韩雨" + "麒"): it is rejoined
        ("节目主持人韩雨麒登场。", ["韩雨麒"]),
        # an interpunct between a country and an event joins no person
        ("中国·丝绸之路博览会在西安举行", []),
        # after a title the name is read whole, though the tagger splits its surname off
        ("南屿美术馆馆长许文澜介绍，新馆明年开放。", ["许文澜"]),
    ],
)
def test_names_are_found_whole(sentence: str, names: list[str]) -> None:
    assert [s.text for s in person_spans(sentence)] == names


def test_a_word_the_tagger_reads_as_a_name_is_no_name_without_a_surname() -> None:
    # jieba tags the verb 通达 ("reaches") as a name; 通 is no surname
    assert person_spans("港口共有航线12条，通达全球30个国家。") == []
    # its dictionary has 高新区 as a name too: a run ending in an administrative unit is a place
    assert person_spans("总部位于城南高新区。") == []
    assert [s.text for s in person_spans("主持人周远宣布开幕。")] == ["周远"]
    assert {"周", "欧阳"} <= surnames() and "通" not in surnames()


def test_a_name_after_a_title_is_read_whatever_verb_follows() -> None:
    # invented names; the tagger cuts 某立新 into a surname and an adverb, and 许 reads as a
    # numeral: after the title, a surname to the end of a word is the name
    walked = person_spans("管理处处长韩立新站在堤上介绍。")
    assert [(s.text, s.roles) for s in walked if s.text == "韩立新"] == [("韩立新", ("处长",))]
    assert "许文澜" in [s.text for s in person_spans("馆长许文澜带领读者参观。")]
    # no name: a word of its own, a conjunction, a time word after the title
    for sentence in ("局长高度重视此事。", "院长和副院长出席。", "院长和平时一样早到。"):
        assert not [s for s in person_spans(sentence) if s.roles], sentence


def test_an_indefinite_number_is_not_what_is_asked() -> None:
    # invented questions: "好几所" and "十几个" describe, the question word asks
    assert analyse("那本被好几所学校选用的教材是谁编写的？").qtype == "person"
    assert analyse("十几个村庄一共获得多少补贴？").unit == "元"
    assert analyse("还有几家企业没有签约？").unit == "家"


def test_the_implied_unit_is_the_one_named_next_to_the_question_word() -> None:
    # 利润 and 分红 are money words, but the question asks for a share
    assert analyse("公司拿出利润的多少比例用于分红？").unit == "%"
    assert analyse("这项补贴的发放比例提高后，每户能拿多少补贴？").unit == "元"


def test_a_counter_glued_to_an_unknown_word_is_still_the_asked_unit() -> None:
    # invented: jieba reads "名泳者" as one word it does not know; "多少支持" is a word
    info = analyse("冬泳节当天有多少名泳者下水？")
    assert info.unit == "名" and "泳者" in info.terms and "名泳者" not in info.terms
    assert analyse("园区对每家企业最多给予多少支持？").unit is None


def test_a_span_made_of_the_questions_words_is_what_it_asks_about() -> None:
    from rag.answer.reader.answer_spans import Span
    from rag.answer.reader.span_ranking import _asked_about

    info = analyse("城东社区综合服务中心入选示范站，是经哪个机构评定的？")
    about = {
        text: _asked_about(info, Span(0, len(text), text, "org"))
        for text in (
            "江州市民政局",
            "城东社区综合服务中心入选第二批示范站",
            "城东社区综合服务中心",
            "社区中心",
        )
    }
    # a name the question gives, or a long span of its words give or take a word; a short
    # span sharing a few characters is not
    assert about == {
        "江州市民政局": False,
        "城东社区综合服务中心入选第二批示范站": True,
        "城东社区综合服务中心": True,
        "社区中心": False,
    }


def test_a_date_range_is_one_span_too() -> None:
    found = [s.text for s in date_spans("展览将于3月1日至5月31日在新馆举行。")]
    assert found == ["3月1日", "5月31日", "3月1日至5月31日"]


def test_an_address_is_one_place_largest_first() -> None:
    found = [s.text for s in place_spans("公司总部设于浙江省杭州市西湖区。")]
    assert "浙江省杭州市西湖区" in found  # the run of places written together, as well as each


def test_org_spans_find_names_and_agents() -> None:
    found = {s.text for s in org_spans("检测中心设在滨江园区,由江东医学研究院牵头建设。")}
    assert "江东医学研究院" in found
    found = {s.text for s in org_spans("集聚青川恒远科技股份有限公司等领先企业")}
    assert any(t.endswith("青川恒远科技股份有限公司") for t in found)


def test_an_org_name_keeps_a_bracketed_word_and_stops_at_a_byline() -> None:
    found = {s.text for s in org_spans("本报讯（记者 周某某）东岭大学材料学院近日发布成果")}
    assert "东岭大学" in found and not any("）" in t for t in found)
    found = {s.text for s in org_spans("南屿（青川）综合研究院发布报告")}
    assert "南屿（青川）综合研究院" in found


def test_a_date_heading_its_clause_dates_that_clause() -> None:
    from rag.answer.reader.span_ranking import best_span
    from rag.text.normalize import normalize

    # invented: each year heads the clause of its event; the asked event's year is the
    # one before it, not the one right after its words
    sentence = "1996年，她在江州师范学院取得学士学位，2001年在海城大学取得硕士学位。"
    info = analyse("她是何时取得学士学位的？")
    weights = dict.fromkeys(info.terms, 1.0)
    span, fitting = best_span(info, sentence, normalize(sentence).lower(), weights, "", None)
    assert span is not None and (span.text, fitting) == ("1996年", True)
    master = analyse("她是何时取得硕士学位的？")
    weights = dict.fromkeys(master.terms, 1.0)
    span, _ = best_span(master, sentence, normalize(sentence).lower(), weights, "", None)
    assert span is not None and span.text == "2001年"
