"""Real files of every format, made here with the tools people use, read back by the loaders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.ingest.corpus import read_corpus
from rag.ingest.layout import Line, Page, build_article, extracted_text
from rag.ingest.loaders import loader_for
from rag.ingest.loaders.html import tidy_markdown
from rag.ingest.loaders.image import ocr_available
from rag.ingest.loaders.pdf import _read
from rag.ingest.tables import table_lines
from tests.docfiles import (
    RUNNING_HEADER,
    cjk_font,
    html_page,
    render_png,
    write_docx,
    write_image_pdf,
    write_pdf,
    write_two_column_pdf,
)

CANAL = "青山县水利局介绍，全县今年新修灌溉水渠四十公里，" * 12 + "灌区覆盖六个乡镇。"
GRAIN = "县农业局统计，全县粮食播种面积稳定在三十万亩，" * 20 + "粮食总产量达到十二万吨。"
REPORT = [
    ("一、水利建设", [CANAL, "全县共修建水库三座，总库容达到一千二百万立方米。", GRAIN]),
    (
        "二、教育事业",
        [
            "全县新建小学五所，招聘教师二百一十名。",
            CANAL,
            "县一中的实验楼于九月投入使用，共有实验室十二间。",
        ],
    ),
]
needs_ocr = pytest.mark.skipif(
    not ocr_available() or cjk_font() is None,
    reason="OCR needs the [ocr] extra and a CJK font (fonts-wqy-microhei) to draw the test image",
)


def pdf_report(tmp_path: Path) -> Path:
    return write_pdf(
        tmp_path / "report.pdf",
        REPORT,
        title="青山县二〇二五年工作报告",
        caption="图1 青山水库全景（王明 摄）",
    )


def test_pdf_pages_sections_and_furniture(tmp_path: Path) -> None:
    data = pdf_report(tmp_path).read_bytes()
    [article] = loader_for("pdf").load(data, "report", "report.pdf")
    assert article.title == "青山县二〇二五年工作报告"
    assert article.sections == ("一、水利建设", "二、教育事业")
    body = [p for p in article.paragraphs if p.kind == "body"]
    # Every paragraph comes back whole and in order: nothing of the header or page numbers.
    assert [p.text for p in body] == [t for _, paragraphs in REPORT for t in paragraphs]
    assert [p.section for p in body] == ["一、水利建设"] * 3 + ["二、教育事业"] * 3
    pages = [p.page for p in body]
    assert pages[0] == 1 and pages[-1] == max(pages) > 1 and pages == sorted(pages)
    [caption] = [p for p in article.paragraphs if p.kind == "caption"]
    assert caption.text == "图1 青山水库全景（王明 摄）"
    assert caption.index == len(article.paragraphs)
    # Offsets point into the extracted text; one paragraph runs over a page break.
    pdf_pages, _, _ = _read(data)
    text = extracted_text(pdf_pages)
    assert RUNNING_HEADER in text and "- 2 -" in text
    for p in article.paragraphs:
        for piece in p.pieces:
            assert (
                text[piece.start : piece.end]
                == p.text[piece.offset : piece.offset + piece.end - piece.start]
            )
    assert any("\f" in text[p.start : p.end] for p in body)


def test_two_columns_read_down_each_column(tmp_path: Path) -> None:
    texts = [
        f"第{n}段。" + "本刊编辑部收到各地读者来信，反映基层文化建设的情况，" * (4 + n)
        for n in range(1, 9)
    ]
    pdf = write_two_column_pdf(tmp_path / "journal.pdf", texts)
    [article] = loader_for("pdf").load(pdf.read_bytes(), "journal", str(pdf))
    assert [p.text for p in article.paragraphs] == texts  # one runs on into the right column


def test_layout_drops_furniture_and_rejoins_lines() -> None:
    """Synthetic pages: a header on every page, page numbers, a paragraph over a page break."""

    def page(n: int, body: list[tuple[str, float]]) -> Page:
        lines = [Line("某市统计公报", 50, 120, 20, 30, 9)]
        top = 80.0
        for text, x0 in body:
            lines.append(Line(text, x0, x0 + 12 * len(text), top, top + 12, 12))
            top += 18
        lines.append(Line(f"第 {n} 页", 140, 170, 570, 580, 9))
        return Page(n, 300, 600, tuple(lines))

    full = "一二三四五六七八九十一二三四五六七八九十"  # 20 characters fill a 240-point line
    pages = [
        page(1, [(full, 50), (full, 50), ("到此为止。", 50), (full[:18], 74), (full, 50)]),
        page(2, [(full, 50), ("结束了。", 50)]),
    ]
    article = build_article(pages, "d", "d.pdf", title="公报")
    assert [p.text for p in article.paragraphs] == [
        full * 2 + "到此为止。",
        full[:18] + full * 2 + "结束了。",
    ]
    assert [p.page for p in article.paragraphs] == [1, 1]
    text = extracted_text(pages)
    assert "某市统计公报" not in "".join(p.text for p in article.paragraphs)
    second = article.paragraphs[1]
    assert text[second.start : second.end].count("\f") == 1


def test_docx_headings_sections_and_tables(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "plan.docx",
        "东岭村发展规划",
        [
            ("一、道路", ["村里修建水泥路十二公里。", "道路于十一月通车。"]),
            ("二、产业", ["茶叶种植面积达到三千亩。"]),
        ],
        table=[["来源", "金额"], ["县交通局", "二百万元"], ["村民捐款", "一百六十万元"]],
    )
    [article] = loader_for("docx").load(path.read_bytes(), "plan", str(path))
    assert article.title == "东岭村发展规划"
    assert [(p.section, p.text) for p in article.paragraphs] == [
        ("一、道路", "村里修建水泥路十二公里。"),
        ("一、道路", "道路于十一月通车。"),
        ("二、产业", "茶叶种植面积达到三千亩。"),
        ("二、产业", "来源：县交通局；金额：二百万元"),
        ("二、产业", "来源：村民捐款；金额：一百六十万元"),
    ]
    assert all(p.page is None for p in article.paragraphs)


def test_html_main_content_without_menus(tmp_path: Path) -> None:
    page = html_page(
        "东岭村修路记",
        [
            ("筹集资金", ["修路共需资金<b>三百六十万元</b>，其中县交通局补助二百万元。"]),
            ("建成通车", ["经过八个月的施工，全长十二公里的道路于2023年11月建成通车。"]),
        ],
    )
    [article] = loader_for("html").load(page.encode("utf-8"), "road", "road.html")
    assert article.title == "东岭村修路记"
    texts = [p.text for p in article.paragraphs]
    assert texts == [
        "修路共需资金三百六十万元，其中县交通局补助二百万元。",
        "经过八个月的施工，全长十二公里的道路于2023年11月建成通车。",
    ]
    assert [p.section for p in article.paragraphs] == ["筹集资金", "建成通车"]
    chrome = "".join(texts)
    for menu in ("首页", "热门推荐", "明星八卦", "版权所有"):
        assert menu not in chrome


def test_html_in_gbk_declared_by_the_page() -> None:
    page = html_page(
        "白石镇新闻", [("水务", ["白石镇去年建成污水处理厂两座，日处理能力达到八千吨。"])]
    )
    page = page.replace('charset="utf-8"', 'charset="gbk"')
    [article] = loader_for("html").load(page.encode("gbk", "xmlcharrefreplace"), "gbk", "gbk.html")
    assert article.paragraphs[0].text == "白石镇去年建成污水处理厂两座，日处理能力达到八千吨。"


def test_markdown_tables_and_lists_become_paragraphs() -> None:
    md = "# 标题\n\n| 项目 | 数量 |\n|---|---|\n| 水库 | 三座 |\n\n- 第一条\n- 第二条"
    assert tidy_markdown(md) == "# 标题\n\n项目：水库；数量：三座\n\n第一条\n\n第二条"


def test_table_rows_without_a_header_and_with_merged_cells() -> None:
    assert table_lines([["甲", "甲", "乙"], ["", "", ""]]) == ["甲；乙"]
    assert table_lines([["年份", "产量"], ["2024", "30吨"], ["2025", ""]]) == [
        "年份：2024；产量：30吨",
        "年份：2025",
    ]


def test_jsonl_records_without_titles(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    records = [
        {"id": "a", "text": "南湖公园今年新栽树木两千棵。公园面积扩大到八十公顷。"},
        {"text": "第二条记录没有标题也没有编号。"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    corpus = read_corpus([path])
    first, second = corpus.articles
    assert first.title == "南湖公园今年新栽树木两千棵。"
    assert first.paragraphs[0].text.startswith("南湖公园今年新栽树木两千棵。")
    assert second.doc_id.startswith("doc-") and second.title == "第二条记录没有标题也没有编号。"
    assert len(second.paragraphs) == 1


@needs_ocr
def test_png_through_ocr(tmp_path: Path) -> None:
    font = cjk_font()
    assert font is not None
    png = render_png(
        [
            "白石镇污水处理厂",
            "白石镇去年建成污水处理厂两座，日处理能力",
            "达到八千吨，总投资1200万元。",
        ],
        font,
    )
    [article] = loader_for("image").load(png, "scan", "scan.png")
    assert article.title == "白石镇污水处理厂"
    [paragraph] = article.paragraphs
    assert paragraph.text == "白石镇去年建成污水处理厂两座，日处理能力达到八千吨，总投资1200万元。"
    assert paragraph.page == 1
    pdf = write_image_pdf(tmp_path / "scan.pdf", png)
    [scanned] = loader_for("pdf").load(pdf.read_bytes(), "scan-pdf", str(pdf))
    assert [p.text for p in scanned.paragraphs] == [paragraph.text]


def test_paged_plain_text_is_repaired_like_a_pdf() -> None:
    """Text saved page by page (form feeds, as pdftotext writes): header, page numbers and
    hard line wraps go, a paragraph carried over the page break is whole again."""
    row = "一二三四五六七八九十" * 2
    text = (
        f"青山县工作报告\n\n　　{row[:18]}\n{row}\n到此为止。\n　　{row[:18]}\n{row}\n\n　　　　- 1 -\n"
        f"\f青山县工作报告\n\n{row}\n结束了。\n　　最后一段。\n\n　　　　- 2 -\n"
    )
    [article] = loader_for("text").load(text.encode("utf-8"), "report", "report.txt")
    assert [(p.page, p.text) for p in article.paragraphs] == [
        (1, row[:18] + row + "到此为止。"),
        (1, row[:18] + row * 2 + "结束了。"),
        (2, "最后一段。"),
    ]
    second = article.paragraphs[1]
    assert text[second.start : second.end].count("\f") == 1
    for p in article.paragraphs:
        for piece in p.pieces:
            assert text[piece.start : piece.end] in p.text
