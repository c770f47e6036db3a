"""The seed pages parse into the articles a reader counts, with clean paragraphs."""

from __future__ import annotations

import re

import pytest

from rag.ingest.corpus import load_corpus
from rag.ingest.documents import Article
from rag.ingest.pages import parse_page
from tests.conftest import SEEDS

# Hand count of the articles on each page (short 园镜头/园光影 items and the standalone
# 济宁 photo item included).
ARTICLES_PER_PAGE = {"000": 5, "001": 7, "002": 5, "003": 7, "004": 5}


@pytest.fixture(scope="module")
def pages() -> dict[str, tuple[str, list[Article]]]:
    out = {}
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out[path.stem[:3]] = (text, parse_page(text, path.stem, str(path)))
    return out


def _article(pages, page: str, title_part: str) -> Article:  # type: ignore[no-untyped-def]
    matches = [a for a in pages[page][1] if title_part in a.title]
    assert len(matches) == 1, [a.title for a in pages[page][1]]
    return matches[0]


def _paragraph_with(article: Article, needle: str):  # type: ignore[no-untyped-def]
    found = [p for p in article.paragraphs if needle in p.text]
    assert len(found) == 1, needle
    return found[0]


def test_article_counts_match_hand_count(pages) -> None:  # type: ignore[no-untyped-def]
    assert {k: len(v[1]) for k, v in pages.items()} == ARTICLES_PER_PAGE


def test_titles_kickers_and_bylines(pages) -> None:  # type: ignore[no-untyped-def]
    guanggu = _article(pages, "000", "世界光谷")
    assert guanggu.title == "武汉东湖高新区发挥优势、抢抓机遇 全力奔赴“世界光谷”新征程"
    assert guanggu.kicker == "聚焦长江经济带园区③"
    assert guanggu.byline == "◎本报记者 吴纯新 通讯员 吴非"
    assert guanggu.sections == ("汇聚创新资源", "培育瞪羚企业", "布局新兴赛道")
    assert _article(pages, "001", "飞地").byline == "郭萃"
    assert _article(pages, "003", "北京经开区").kicker == "“国家级经开区40年”系列报道之一"
    xiamen = _article(pages, "000", "厦门")
    assert xiamen.title == "厦门火炬高新区企业 上榜智能制造示范名单"
    assert xiamen.byline == "科技日报(记者符晓波)"
    assert xiamen.column == "园镜头"
    assert (
        _article(pages, "004", "尧都").title == "山西临汾尧都高新区:双创全链条服务为企业发展添底气"
    )


def test_inline_byline_is_split_from_first_paragraph(pages) -> None:  # type: ignore[no-untyped-def]
    xiamen = _article(pages, "000", "厦门")
    assert xiamen.paragraphs[0].text.startswith("11月25日,记者从厦门火炬高新区获悉")
    nanyang = _article(pages, "001", "南阳")
    assert nanyang.paragraphs[0].text.startswith("在2月15日召开的")
    assert nanyang.byline == "本报讯 樊佳"  # trailing author name moved out of the body
    assert nanyang.body[-1].text.endswith("9000多万元。")


@pytest.mark.parametrize(
    ("page", "title_part", "joined"),
    [
        ("000", "世界光谷", "《2023年度光谷瞪羚企业发展报告》显示"),
        ("000", "细胞谷", "创新药物、细胞产品、医疗器械"),
        ("001", "飞地", "“我们希望能将这种新材料落户到海口高新区进行生产。”"),
        ("001", "常州", "一季度新建产业项目开工率将达46.1%"),
        ("002", "兰州", "历经三十多年的发展"),
        ("002", "南中轴", "“南中轴国际文化科技园发展成熟之后,将成为"),
        ("003", "北京经开区", "实现了超高安全系数的加密"),
        ("003", "北京经开区", "未来画卷正在徐徐展开:到2030年"),
        ("004", "广州开发区", "地图,发现各大产业集群"),
    ],
)
def test_broken_paragraphs_are_rejoined(pages, page: str, title_part: str, joined: str) -> None:  # type: ignore[no-untyped-def]
    text, _ = pages[page]
    paragraph = _paragraph_with(_article(pages, page, title_part), joined)
    assert paragraph.kind == "body"
    assert len(paragraph.pieces) == 2
    # Every piece is verbatim in the source at its offsets.
    for piece in paragraph.pieces:
        length = piece.end - piece.start
        assert text[piece.start : piece.end] == paragraph.text[piece.offset : piece.offset + length]


def test_captions_are_kept_apart_and_marked(pages) -> None:  # type: ignore[no-untyped-def]
    for _, articles in pages.values():
        for article in articles:
            for p in article.body:
                assert not re.search(r"(供图|摄)$", p.text), p.text
                assert not p.text.startswith(("图为", "图片来源"))
    guanggu = _article(pages, "000", "世界光谷")
    assert [p.text for p in guanggu.paragraphs if p.kind == "caption"] == [
        "图为武汉东湖高新区。受访者供图"
    ]
    # The caption printed at the foot of page 000 shows 合源生物 (the 天津 story), not 贵阳.
    tianjin = _article(pages, "000", "细胞谷")
    assert any(
        "合源生物商业化生产基地" in p.text for p in tianjin.paragraphs if p.kind == "caption"
    )


def test_no_headline_or_byline_is_a_body_paragraph(pages) -> None:  # type: ignore[no-untyped-def]
    for _, articles in pages.values():
        titles = {a.title for a in articles}
        for article in articles:
            for p in article.body:
                assert not p.text.startswith(("◎", "本报讯", "科技日报讯", "科技日报("))
                assert p.text not in titles
                assert p.text not in article.sections
                assert len(p.text) > 15 or p.text.endswith(("。", "”")), p.text


def test_short_column_items_and_photo_items(pages) -> None:  # type: ignore[no-untyped-def]
    longnan = _article(pages, "003", "陇南")
    assert longnan.column == "园光影"
    assert [p.kind for p in longnan.paragraphs] == ["caption"]
    jining = _article(pages, "001", "济宁")
    assert any("线下科普基地" in p.text for p in jining.paragraphs)


def test_editor_note_attached_to_first_article(pages) -> None:  # type: ignore[no-untyped-def]
    first = pages["003"][1][0]
    notes = [p for p in first.paragraphs if p.kind == "note"]
    assert len(notes) == 1 and notes[0].text.startswith("编者按")
    # Body paragraphs come first and are numbered from 1 as a reader counts them.
    assert first.paragraphs[0].kind == "body" and first.paragraphs[0].index == 1


def test_paragraph_offsets_point_into_source(pages) -> None:  # type: ignore[no-untyped-def]
    for text, articles in pages.values():
        for article in articles:
            for i, p in enumerate(article.paragraphs, start=1):
                assert p.index == i
                assert p.id == f"{article.doc_id}:{i}"
                if len(p.pieces) == 1:
                    assert text[p.start : p.end] == p.text


def test_seed_corpus_loads_with_stable_ids() -> None:
    articles = load_corpus([SEEDS])
    assert len(articles) == sum(ARTICLES_PER_PAGE.values())
    assert articles[0].doc_id == "000_edf5affd2abe794d-01"
    assert len({a.doc_id for a in articles}) == len(articles)
