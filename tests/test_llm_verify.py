"""The verifier and its fact matching on hand-made sources and answers."""

from __future__ import annotations

import pytest

from rag.answer.llm.facts import Evidence, facts, han_value, numbers
from rag.answer.llm.verify import Source, verify

SOURCES = {
    1: Source(
        "11月15日,光谷创新发展研究院发布的《2023年度光谷瞪羚企业发展报告》显示,"
        "光谷瞪羚企业累计达1690家,从中涌现出23家上市公司。光谷瞪羚企业培育呈现出高成长的特点。",
        title="全力奔赴“世界光谷”新征程",
        label="《全力奔赴》第11段",
    ),
    2: Source(
        "湖北省重大科技基础设施“磁约束聚变中子源预研装置”将在武汉新城光谷科学岛落地,建设期5年。"
        "项目总投资1.2亿元。",
        title="全力奔赴“世界光谷”新征程",
        label="《全力奔赴》第7段",
    ),
    3: Source("光谷创新发展研究院院长赵荣凯介绍,研究院已服务企业超过300家。", title="光谷"),
}
QUESTION = "光谷瞪羚企业累计达到多少家？"


def test_supported_sentences_are_kept_with_their_quotes() -> None:
    v = verify("光谷瞪羚企业累计达1690家[1]。装置建设期5年[2]。", SOURCES, QUESTION)
    assert v.text == "光谷瞪羚企业累计达1690家[1]。装置建设期5年[2]。"
    assert v.counts == {"kept": 2, "flagged": 0, "dropped": 0, "markers_removed": 0}
    assert not v.warnings() and v.supported and not v.not_found
    first, second = v.quotes
    assert first.source == 1
    quoted = SOURCES[1].text[first.start : first.end]
    assert quoted.startswith("11月15日") and "1690家" in quoted  # the sentence, not the paragraph
    assert "高成长" not in quoted
    assert second.source == 2
    assert SOURCES[2].text[second.start : second.end].endswith("建设期5年。")


@pytest.mark.parametrize(
    "written",
    ["1,690家", "１６９０家", "1690 家", "一千六百九十家"],
)
def test_numbers_match_whatever_way_they_are_written(written: str) -> None:
    v = verify(f"光谷瞪羚企业累计达{written}[1]。", SOURCES)
    assert v.counts["kept"] == 1, v.warnings()


def test_scaled_amounts_match_by_value() -> None:
    v = verify("项目总投资12000万元[2]。", SOURCES)
    assert v.counts["kept"] == 1, v.warnings()


@pytest.mark.parametrize(
    "claim",
    ["光谷瞪羚企业累计达1960家[1]。", "光谷瞪羚企业累计达1690亿元[1]。", "项目总投资12亿元[2]。"],
)
def test_wrong_number_or_unit_drops_the_sentence(claim: str) -> None:
    v = verify(claim, SOURCES)
    assert v.counts["dropped"] == 1
    assert not v.supported and v.text == ""
    (warning,) = v.warnings()
    assert warning.startswith("dropped (removed from the answer)") and "not in the cited" in warning


def test_unknown_name_drops_the_sentence() -> None:
    v = verify("光谷创新发展研究院院长王建国介绍了瞪羚企业[1][3]。", SOURCES)
    assert v.counts["dropped"] == 1
    assert "王建国" in v.warnings()[0]


def test_names_from_the_sources_are_kept() -> None:
    v = verify("光谷创新发展研究院院长赵荣凯介绍，研究院已服务企业超过300家[3]。", SOURCES)
    assert v.counts["kept"] == 1, v.warnings()


def test_numbers_in_the_question_need_no_source() -> None:
    question = "光谷在2035年前能有2000家瞪羚企业吗？"
    v = verify("光谷瞪羚企业累计达1690家，距2000家还有差距[1]。", SOURCES, question)
    assert v.counts["kept"] == 1, v.warnings()


def test_marker_naming_no_given_source_is_removed() -> None:
    v = verify("光谷瞪羚企业累计达1690家[1][4]。", SOURCES)
    assert v.text == "光谷瞪羚企业累计达1690家[1]。"
    assert v.removed_markers == (4,)
    assert v.warnings() == ("removed citation marker [4]: no such source was given",)


def test_markers_are_renumbered_in_order_of_first_use() -> None:
    v = verify("装置建设期5年[2]。光谷瞪羚企业累计达1690家[1]。总投资1.2亿元[2]。", SOURCES)
    assert v.text == "装置建设期5年[1]。光谷瞪羚企业累计达1690家[2]。总投资1.2亿元[1]。"
    assert [q.source for q in v.quotes] == [2, 1]


def test_marker_styles_are_understood() -> None:
    v = verify("光谷瞪羚企业累计达1690家。【1】装置建设期5年［2］。总投资1.2亿元[1-2]。", SOURCES)
    assert v.text == "光谷瞪羚企业累计达1690家[1]。装置建设期5年[2]。总投资1.2亿元[1][2]。"
    assert v.counts["kept"] == 3


def test_wrong_citation_is_corrected_and_flagged() -> None:
    v = verify("装置建设期5年[1]。", SOURCES)
    assert v.text == "装置建设期5年[1]。"
    assert [q.source for q in v.quotes] == [2]
    assert v.counts["flagged"] == 1
    (warning,) = v.warnings()
    assert warning.startswith("flagged (kept with a warning)")
    assert "《全力奔赴》第7段" in warning and "citation corrected" in warning


def test_uncited_sentence_gets_the_source_that_holds_it() -> None:
    v = verify("光谷瞪羚企业累计达1690家。", SOURCES)
    assert v.text == "光谷瞪羚企业累计达1690家[1]。"
    assert v.counts["flagged"] == 1 and "citation added" in v.warnings()[0]


def test_uncited_claim_found_nowhere_is_dropped() -> None:
    v = verify("光谷瞪羚企业累计达1690家[1]。光谷的冬天常常下雪，游客很多。", SOURCES)
    assert v.text == "光谷瞪羚企业累计达1690家[1]。"
    assert v.counts == {"kept": 1, "flagged": 0, "dropped": 1, "markers_removed": 0}


def test_cited_sentence_sharing_few_words_is_flagged_not_dropped() -> None:
    v = verify("光谷的冬天常常下雪，游客很多[1]。", SOURCES)
    assert v.counts["flagged"] == 1
    assert v.text == "光谷的冬天常常下雪，游客很多[1]。"
    assert "few of its words" in v.warnings()[0]


def test_framing_and_list_layout_survive() -> None:
    answer = (
        "根据资料：\n1. 光谷瞪羚企业累计达1690家[1]。\n2. 上市公司有99家[1]。\n3. 建设期5年。[2]"
    )
    v = verify(answer, SOURCES)
    assert v.text == "根据资料：\n1. 光谷瞪羚企业累计达1690家[1]。\n3. 建设期5年[2]。"
    assert v.counts == {"kept": 3, "flagged": 0, "dropped": 1, "markers_removed": 0}


def test_not_found_alone_is_an_abstention() -> None:
    v = verify("资料中未找到。", SOURCES)
    assert v.not_found and not v.supported


def test_not_found_next_to_a_supported_claim_is_an_answer() -> None:
    v = verify("光谷瞪羚企业累计达1690家[1]。资料中未找到2024年的数字。", SOURCES)
    assert not v.not_found and v.supported
    assert v.counts["kept"] == 2


def test_english_sentences_are_split_and_checked() -> None:
    # 1.2亿元 is 120 million yuan: "1.2 billion" is a scale error, "120 million" is right.
    wrong = "Optics Valley has 1,690 gazelle firms [1]. Investment is 1.2 billion yuan [2]."
    v = verify(wrong, SOURCES)
    assert v.text == "Optics Valley has 1,690 gazelle firms [1]."
    assert v.counts["kept"] == 1 and v.counts["dropped"] == 1
    right = "Optics Valley has 1,690 gazelle firms [1]. Investment is 120 million yuan [2]."
    v = verify(right, SOURCES)
    assert v.text == right
    assert v.counts["kept"] == 2


def test_han_numerals() -> None:
    assert han_value("一千六百九十") == 1690
    assert han_value("一亿五千万") == 150_000_000
    assert han_value("三万亿") == 3e12
    assert han_value("一百零五") == 105
    assert han_value("十四五") is None


def test_idioms_and_ordinals_are_not_numeric_claims() -> None:
    assert numbers("统一部署，一个平台，千方百计，十分重要，第一批", claim=True) == []
    assert [(n.value, n.unit) for n in numbers("建设期五年，百分之二十", claim=True)] == [
        (5, "年"),
        (20, "%"),
    ]


def test_organisation_worded_around_its_name_still_matches() -> None:
    evidence = Evidence("光谷创新发展研究院发布报告")
    (org,) = [f for f in facts("武汉的光谷创新发展研究院表示。") if f.kind == "org"]
    assert evidence.holds(org)
    (other,) = [f for f in facts("北京创新发展研究院表示。") if f.kind == "org"]
    assert not evidence.holds(other)
