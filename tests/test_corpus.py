"""Loading user corpora: directories of plain text, JSONL records, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import CorpusError
from rag.ingest.corpus import load_corpus, parse_plain


def test_plain_document_paragraphs_and_offsets(tmp_path: Path) -> None:
    text = "创新园区简介\n\n园区位于城东。\n占地十平方公里。\n\n  第二段内容。  \n"
    (tmp_path / "intro.txt").write_text(text, encoding="utf-8")
    [article] = load_corpus([tmp_path])
    assert article.doc_id == "intro"
    assert article.title == "创新园区简介"
    assert [p.text for p in article.paragraphs] == [
        "园区位于城东。占地十平方公里。",
        "第二段内容。",
    ]
    second = article.paragraphs[1]
    assert text[second.start : second.end] == "第二段内容。"
    first = article.paragraphs[0]
    assert [text[p.start : p.end] for p in first.pieces] == ["园区位于城东。", "占地十平方公里。"]


def test_markdown_headings_become_title_and_sections(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# 总标题\n\n## 第一节\n\n内容甲。\n\n## 第二节\n\n内容乙。\n")
    [article] = load_corpus([tmp_path])
    assert article.title == "总标题"
    assert [(p.section, p.text) for p in article.paragraphs] == [
        ("第一节", "内容甲。"),
        ("第二节", "内容乙。"),
    ]


def test_a_byline_line_before_the_text_is_the_byline_not_a_paragraph() -> None:
    article = parse_plain(
        "# 新馆开放\n\n记者 林某某\n\n新馆今天开放。\n\n记者 王某\n", "d", "s", markdown=True
    )
    assert article.byline == "记者 林某某"
    assert [p.text for p in article.paragraphs] == ["新馆今天开放。", "记者 王某"]
    # a sentence that opens with 记者 is text
    article = parse_plain("新馆开放\n\n记者看到，新馆今天开放。", "d", "s")
    assert article.byline is None and len(article.paragraphs) == 1


def test_english_lines_rejoin_with_a_space() -> None:
    article = parse_plain("Title\n\nfirst line\nsecond line.", "d", "s")
    assert article.paragraphs[0].text == "first line second line."


def test_jsonl_ids_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    records = [
        {"id": "TRIAL_800_P0", "title": "范廷颂", "text": "范廷颂是越南罗马天主教枢机。"},
        {"id": 7, "title": "数字", "text": "第一行\n第二行"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    articles = load_corpus([path])
    assert [a.doc_id for a in articles] == ["TRIAL_800_P0", "7"]
    assert [p.text for p in articles[1].paragraphs] == ["第一行", "第二行"]
    assert articles[0].title == "范廷颂"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", b'{"id": "a", "title": "t"}\n', 'missing or empty "text"'),
        ("bad.jsonl", b"{not json}\n", "invalid JSON"),
        ("bad.jsonl", b'["a list"]\n', "expected a JSON object"),
        ("bad.txt", "中文".encode("gbk"), "not UTF-8"),
        ("bad.txt", b"\x00\x01\x02binary", "binary file"),
    ],
)
def test_bad_files_fail_with_one_clear_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CorpusError, match=message) as err:
        load_corpus([tmp_path / name])
    assert "\n" not in str(err.value)
    assert name in str(err.value)


def test_missing_and_empty_corpora(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        load_corpus([tmp_path / "nope"])
    with pytest.raises(CorpusError, match=r"no \.txt"):
        load_corpus([tmp_path])
    (tmp_path / "empty.txt").write_text("  \n\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="empty"):
        load_corpus([tmp_path])
    with pytest.raises(CorpusError, match=r"named \.pdf but the content is not a PDF"):
        (tmp_path / "x.pdf").write_bytes(b"%PDF")
        load_corpus([tmp_path / "x.pdf"])


def test_duplicate_ids_across_sources(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.txt").write_text("标题\n\n内容。", encoding="utf-8")
    (tmp_path / "b" / "same.txt").write_text("标题\n\n内容。", encoding="utf-8")
    with pytest.raises(CorpusError, match="duplicate document id 'same'"):
        load_corpus([tmp_path / "a", tmp_path / "b"])
