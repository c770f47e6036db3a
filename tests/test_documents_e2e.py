"""A folder of the user's own files to cited answers, with the real bundled model.

The README's "Your own documents" walk-through, as a test: PDFs (several pages), a Word file,
an HTML page with navigation and an untitled JSONL export, indexed by ``rag index --corpus``
and asked with ``rag ask --json``; each answer cites the file, page and paragraph it is in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import get_settings
from rag.ingest.loaders.image import ocr_available
from tests.docfiles import cjk_font, html_page, render_png, write_docx, write_pdf

pytestmark = pytest.mark.e2e
runner = CliRunner()

FILLER = "县统计局指出，各项指标均按国家统计制度核算，数据来源于各乡镇的年度报表，" * 8
REPORT = [
    ("一、农业生产", [FILLER + "全县粮食总产量达到十二万吨。", FILLER]),
    (
        "二、水利建设",
        [FILLER, "全县今年新修水库三座，总库容达到一千二百万立方米。", FILLER],
    ),
    ("三、社会事业", [FILLER, "全县新建小学五所，招聘教师二百一十名。"]),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("my-docs")
    write_pdf(root / "青山县年报.pdf", REPORT, title="青山县二〇二五年统计年报")
    write_pdf(
        root / "白河镇简报.pdf",
        [("文化", ["白河镇今年新建文化广场一座，占地五千平方米，可容纳三千人。"])],
        title="白河镇工作简报",
    )
    write_docx(
        root / "东岭村规划.docx",
        "东岭村发展规划",
        [("产业", ["东岭村的茶叶种植面积达到三千亩，年产干茶九十吨。"])],
        table=[["项目", "投资"], ["茶叶加工厂", "六百万元"]],
    )
    (root / "修路记.html").write_text(
        html_page(
            "南坪乡修路记", [("通车", ["南坪乡通往县城的公路全长二十八公里，于十月建成通车。"])]
        ),
        encoding="utf-8",
    )
    (root / "export.jsonl").write_text(
        json.dumps(
            {"text": "北湖公园今年新栽种樱花树800棵，春季向市民免费开放。"}, ensure_ascii=False
        ),
        encoding="utf-8",
    )
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\ngarbage")
    font = cjk_font()
    if ocr_available() and font is not None:
        (root / "告示.png").write_bytes(
            render_png(["停水通知", "因管道检修，西街片区将于6月8日全天停水。"], font)
        )
    return root


@pytest.fixture(scope="module")
def index_dir(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("index")
    mp = pytest.MonkeyPatch()
    mp.setenv("RAG_INDEX_DIR", str(index_dir))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["index", "--corpus", str(folder)])
    finally:
        mp.undo()
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stderr and "broken.pdf: corrupt PDF" in result.stderr
    assert "1 skipped;" in result.stdout
    return index_dir


def ask(index_dir: Path, question: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["ask", question, "--json", "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    data: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return data


@pytest.mark.parametrize(
    ("question", "expected", "doc_id", "page", "section"),
    [
        ("青山县今年新修了几座水库？", "三座", "青山县年报", 2, "二、水利建设"),
        ("青山县粮食总产量是多少？", "十二万吨", "青山县年报", 1, "一、农业生产"),
        ("青山县新建了几所小学？", "五所", "青山县年报", 3, "三、社会事业"),
        ("白河镇文化广场占地多少？", "五千平方米", "白河镇简报", 1, "文化"),
        ("东岭村的茶叶种植面积有多少？", "三千亩", "东岭村规划", None, "产业"),
        ("南坪乡通往县城的公路有多长？", "二十八公里", "修路记", None, "通车"),
        ("北湖公园今年新栽种了多少棵樱花树？", "800棵", None, None, None),
    ],
)
def test_questions_about_my_files_cite_file_page_and_paragraph(
    index_dir: Path,
    question: str,
    expected: str,
    doc_id: str | None,
    page: int | None,
    section: str | None,
) -> None:
    answer = ask(index_dir, question)
    assert answer["answered"], answer
    assert expected in answer["answer"]
    citation = answer["citations"][0]
    assert expected in citation["quote"]
    if doc_id is not None:
        assert citation["doc_id"] == doc_id
    assert citation["page"] == page
    assert citation["section"] == section


def test_the_page_number_is_where_the_paragraph_is(index_dir: Path, folder: Path) -> None:
    """The cited page really holds the quote (read back with pdfminer, page by page)."""
    from pdfminer.high_level import extract_text

    citation = ask(index_dir, "青山县今年新修了几座水库？")["citations"][0]
    path = folder / "青山县年报.pdf"
    on_page = extract_text(str(path), page_numbers=[citation["page"] - 1]).replace("\n", "")
    assert "新修水库三座" in on_page


@pytest.mark.skipif(
    not ocr_available() or cjk_font() is None, reason="needs the [ocr] extra and a CJK font"
)
def test_a_scanned_notice_is_answered_through_ocr(index_dir: Path) -> None:
    answer = ask(index_dir, "西街片区哪天停水？")
    assert "6月8日" in answer["answer"]
    assert answer["citations"][0]["doc_id"] == "告示"
