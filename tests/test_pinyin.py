"""Chinese names given in pinyin by English questions, found in Chinese text (invented names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.reader.reader import ExtractiveAnswerer
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder
from rag.text.pinyin import find_name, name_keys, readings, spelled_names, spells_pinyin


def test_readings_drop_tones_and_keep_every_reading() -> None:
    table = readings()
    assert set(table["长"]) >= {"chang", "zhang"}
    assert "lv" in table["吕"] and "lu" in table["吕"]  # ü written either way in names
    assert table["陳"] == table["陈"]  # traditional forms read alike


@pytest.mark.parametrize(
    ("question", "keys"),
    [
        ("What did Lin Siyuan study?", ("linsiyuan",)),
        ("Where did Ouyang Ming meet Zhao Qinghe?", ("ouyangming", "zhaoqinghe")),
        ("Who is Li Zhong Chen?", ("lizhongchen",)),  # one name in three words
        ("When was Queen Astrid crowned?", ()),  # English words and non-pinyin names
        ("How much does the Tidewatch T9 weigh?", ()),
        ("Where is Beijing?", ()),  # the dictionary translates it
    ],
)
def test_name_keys(question: str, keys: tuple[str, ...]) -> None:
    assert name_keys(question) == keys


def test_spells_pinyin() -> None:
    assert spells_pinyin("zhaoqinghe") and spells_pinyin("xian")
    assert not spells_pinyin("astrid")


def test_names_are_found_where_the_characters_spell_them() -> None:
    text = "据介绍，林思远于2019年加入研究所，与欧阳明合作。"
    assert [text[s:e] for s, e in find_name("linsiyuan", text)] == ["林思远"]
    assert [text[s:e] for s, e in find_name("ouyangming", text)] == ["欧阳明"]
    assert list(find_name("zhaoqinghe", text)) == []
    # a polyphonic character spells the name by any of its readings
    other = "他叫长乐。"
    assert [other[s:e] for s, e in find_name("zhangle", other)] == ["长乐"]
    assert spelled_names(("ouyangming", "linsiyuan"), ["无关", text]) == ["欧阳明", "林思远"]


@pytest.fixture
def people_engine(tmp_path: Path) -> RagEngine:
    settings = Settings(index_dir=tmp_path / "index", corpus=[tmp_path / "none"], embedder="hash")
    engine = RagEngine(settings, embedder=HashEmbedder())
    engine.add_document("研究所人员", "林思远负责材料实验，每周发表一篇报告。", doc_id="lin")
    engine.add_document("研究所简介", "研究所成立于1998年，负责材料实验与检测。", doc_id="intro")
    engine.add_document("城市公园改造", "公园新增健身步道三公里。", doc_id="park")
    return engine


def test_an_english_question_finds_the_chunk_that_spells_its_name(people_engine: RagEngine) -> None:
    hits = people_engine.search("What experiments is Lin Siyuan responsible for?", k=3).hits
    assert hits and hits[0].chunk.doc_id == "lin"


def test_the_reader_counts_the_name_as_a_question_word(people_engine: RagEngine) -> None:
    question = "What experiments is Lin Siyuan responsible for?"
    hits = people_engine.search(question, k=3).hits
    info = ExtractiveAnswerer.question_info(question, people_engine.store, hits)
    assert "林思远" in info.terms
    assert "林思远" not in ExtractiveAnswerer.question_info(question, people_engine.store).terms
