"""Sentences end at Chinese terminal punctuation; chunks stay inside one paragraph."""

from __future__ import annotations

from rag.ingest.chunking import ChunkParams, chunk_articles, chunk_paragraph
from rag.ingest.corpus import parse_plain
from rag.ingest.documents import Paragraph, Piece
from rag.text.sentences import split_clauses, split_sentences


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_sentences_end_at_terminal_punctuation_and_closing_quotes() -> None:
    text = "光谷是名片。“这是首条生产线。”他说。真的吗？是的！还有；最后……结尾是没有句号的一段文字"
    assert _sentences(text) == [
        "光谷是名片。",
        "“这是首条生产线。”",
        "他说。",
        "真的吗？",
        "是的！",
        "还有；",
        "最后……",
        "结尾是没有句号的一段文字",
    ]


def test_short_credit_stays_with_its_sentence() -> None:
    assert _sentences("图为发布会现场。李剑锋摄") == ["图为发布会现场。李剑锋摄"]


def _paragraph(text: str) -> Paragraph:
    return Paragraph("d", 1, text, (Piece(0, 100, 100 + len(text)),))


def test_chunks_pack_sentences_up_to_size_with_overlap() -> None:
    text = "".join(f"第{i}句话有一些内容。" for i in range(10))  # 10 sentences of 10 chars
    chunks = chunk_paragraph(_paragraph(text), "标题", ChunkParams(size=30, overlap=1))
    assert all(len(c.text) <= 30 for c in chunks)
    assert chunks[0].text == "第0句话有一些内容。第1句话有一些内容。第2句话有一些内容。"
    assert chunks[1].text.startswith("第2句话")  # one sentence of overlap
    assert chunks[-1].text.endswith("第9句话有一些内容。")
    for c in chunks:
        assert text[c.offset : c.offset + len(c.text)] == c.text
        assert (c.start, c.end) == (100 + c.offset, 100 + c.offset + len(c.text))


def test_overlong_sentence_is_cut_at_clauses() -> None:
    text = "，".join(["这是一个很长的分句内容"] * 12) + "。"
    chunks = chunk_paragraph(_paragraph(text), "t", ChunkParams(size=40, overlap=0))
    assert len(chunks) > 1
    assert all(len(c.text) <= 40 for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_chunks_never_cross_paragraphs_or_articles() -> None:
    a = parse_plain("标题甲\n\n第一段。内容。\n\n第二段。", "a", "x")
    b = parse_plain("标题乙\n\n别的文章。", "b", "y")
    chunks = chunk_articles([a, b], ChunkParams(size=200, overlap=1))
    assert [(c.doc_id, c.paragraph, c.text) for c in chunks] == [
        ("a", 1, "第一段。内容。"),
        ("a", 2, "第二段。"),
        ("b", 1, "别的文章。"),
    ]
    assert chunks[0].title == "标题甲"


def test_chunk_ids_are_stable_and_distinct() -> None:
    a = parse_plain("t\n\n同样的句子。\n\n同样的句子。", "a", "x")
    first = chunk_articles([a], ChunkParams())
    again = chunk_articles([a], ChunkParams())
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == 2  # same text, different paragraph


def test_clauses_do_not_split_ratios_or_thousands() -> None:
    text = "男女生比例约为1：7，共有2,400名学生，时间：周一"
    assert [text[s:e] for s, e in split_clauses(text, 0, len(text))] == [
        "男女生比例约为1：7，",
        "共有2,400名学生，",
        "时间：",
        "周一",
    ]


def test_an_answer_s_clauses_keep_a_list_whole() -> None:
    text = "园区通过减租、补贴和代办等方式，吸引了企业入驻"
    assert [text[s:e] for s, e in split_clauses(text, 0, len(text))][:2] == [
        "园区通过减租、",
        "补贴和代办等方式，",
    ]
    assert [text[s:e] for s, e in split_clauses(text, 0, len(text), items=False)] == [
        "园区通过减租、补贴和代办等方式，",
        "吸引了企业入驻",
    ]
