"""Chinese layout conventions in general: another paper's page, page numbers, captions, and
paged plain text repaired like a PDF."""

from __future__ import annotations

import pytest

from rag.ingest.markers import BYLINE_PREFIX, is_caption, is_page_number
from rag.ingest.pages import looks_like_page, parse_page

OTHER_PAPER = """山城晚报

图说

江边步道全线贯通

山城晚报讯（记者 王五 通讯员 赵六）昨日，沿江步道最后一段完工，全长十六公里的步道全线贯通。

市民李女士说，每天傍晚都会来这里散步。

老街改造完成

本报记者 孙七

经过一年的施工，老街的改造工程近日完成，共修缮老房子一百二十栋。

改造后的老街保留了原有的青石板路。

图为改造后的老街。 孙七 摄
"""


def test_another_papers_page_parses_by_general_patterns() -> None:
    assert looks_like_page(OTHER_PAPER)
    articles = parse_page(OTHER_PAPER, "p", "p.txt")
    titles = [a.title for a in articles]
    assert "江边步道全线贯通" in titles and "老街改造完成" in titles
    walk = next(a for a in articles if a.title == "江边步道全线贯通")
    assert walk.column == "图说"
    assert walk.byline is not None and walk.byline.startswith("山城晚报讯")
    assert walk.paragraphs[0].text.startswith("昨日，沿江步道最后一段完工")
    street = next(a for a in articles if a.title == "老街改造完成")
    assert street.byline == "本报记者 孙七"
    assert [p.kind for p in street.paragraphs] == ["body", "body", "caption"]


@pytest.mark.parametrize(
    "line",
    [
        "新华社北京5月3日电 （记者 张三）",
        "江城日报讯",
        "本报讯（通讯员 李四）",
        "人民网（记者 王五）",
    ],
)
def test_datelines_of_any_agency(line: str) -> None:
    assert BYLINE_PREFIX.match(line)


@pytest.mark.parametrize("line", ["据新华网（北京）报道，", "该报社（原名）成立于1950年。"])
def test_ordinary_sentences_are_not_datelines(line: str) -> None:
    assert not BYLINE_PREFIX.match(line)


@pytest.mark.parametrize(
    "text", ["12", "- 3 -", "第 4 页", "第5页 共20页", "7/20", "Page 2 of 9", "iv"]
)
def test_page_numbers(text: str) -> None:
    assert is_page_number(text)


@pytest.mark.parametrize("text", ["2024年", "第一章", "共计12项。"])
def test_not_page_numbers(text: str) -> None:
    assert not is_page_number(text)


@pytest.mark.parametrize(
    ("text", "caption"),
    [
        ("图1 青山水库全景", True),
        ("表2-3 各乡镇人口", True),
        ("图为新建的大桥。", True),
        ("新建的大桥（张三 摄）", True),
        ("表示会继续推进工作。", False),
        ("图书馆新增藏书两万册。", False),
    ],
)
def test_captions(text: str, caption: bool) -> None:
    assert is_caption(text) is caption
