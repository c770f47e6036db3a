"""The extractive answerer's choices of sentence and span, on a small encyclopedia corpus.

Each case is a general reading habit, not a seed page: the article's subject is implicit in
every sentence, an enumeration is one answer, the name the question asks about is not the
answer to it.
"""

from __future__ import annotations

import json

import pytest

from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder

ARTICLES = [
    {
        "id": "dilthey",
        "title": "威廉·狄尔泰",
        "text": "威廉·狄尔泰，德国哲学家、历史学家、心理学家。"
        "他生于比布里希，曾在柏林大学任教。"
        "著作有《精神科学导言》、《哲学的本质》等。",
    },
    {
        "id": "gentian",
        "title": "龙胆",
        "text": "龙胆是龙胆科龙胆属的植物。"
        "分布在俄罗斯、日本、朝鲜以及中国大陆的贵州、湖北、吉林、浙江、湖南等地，"
        "生长于海拔400米至1700米的地区。",
    },
    {
        "id": "weiwan",
        "title": "魏玩",
        "text": "魏玩，字玉汝，北宋襄阳邓城人，著名女词人，人称魏夫人，弟为北宋文人魏泰。"
        "自幼博览群书，以诗词见长。",
    },
    {
        "id": "baobab",
        "title": "猴面包树",
        "text": "猴面包树是锦葵科猴面包树属的植物。"
        "它的果实钙含量比菠菜高50％以上，维生素C含量是单个橙子的三倍。"
        "因此它有时也被称为笨蛋水果。",
    },
    {
        "id": "park",
        "title": "乍都节公园",
        "text": "乍都节公园是泰国曼谷的一座公园。公园由泰国国家铁路局捐献土地建造，于1975年开放。",
    },
    {
        "id": "plesiosaur",
        "title": "扁掌龙亚科",
        "text": "扁掌龙亚科是一群海生爬行动物。"
        "扁掌龙亚科的化石可发现于各大洲，但澳洲的化石仍有争议。",
    },
    {
        "id": "town",
        "title": "莫镇",
        "text": "莫镇是一座工业小镇。根据2002年人口普查的数据，居民总数为31459人。"
        "男子的平均年收入为31,875美元，女子的平均年收入为23,235美元。",
    },
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> RagEngine:
    root = tmp_path_factory.mktemp("wiki")
    corpus = root / "wiki.jsonl"
    corpus.write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES), encoding="utf-8"
    )
    settings = Settings(index_dir=root / "index", corpus=[corpus], embedder="hash")
    built = RagEngine(settings, embedder=HashEmbedder())
    built.build()
    return built


def _answer(engine: RagEngine, question: str) -> str:
    answer = engine.ask(question)
    assert answer.answered, answer.answer
    return answer.answer


def test_the_subject_in_the_title_does_not_pick_the_lead_sentence(engine: RagEngine) -> None:
    assert "《精神科学导言》" in _answer(engine, "威廉·狄尔泰的著作有哪些？")


def test_an_enumeration_is_answered_whole(engine: RagEngine) -> None:
    answer = _answer(engine, "龙胆分布在哪些地区？")
    assert "俄罗斯、日本、朝鲜以及中国大陆的贵州、湖北、吉林、浙江、湖南" in answer


def test_the_name_asked_about_is_not_the_answer(engine: RagEngine) -> None:
    assert "魏泰" in _answer(engine, "魏玩的弟弟是谁？")


def test_the_slot_between_the_question_words_is_the_answer(engine: RagEngine) -> None:
    assert "泰国国家铁路局" in _answer(engine, "乍都节公园是由谁捐献土地建造出来的？")


def test_why_quotes_the_cause_before_a_consequence(engine: RagEngine) -> None:
    answer = _answer(engine, "为什么猴面包树被称为笨蛋水果？")
    assert "维生素C含量是单个橙子的三倍" in answer and "笨蛋水果" in answer


def test_a_qualifying_clause_stays_with_the_answer(engine: RagEngine) -> None:
    answer = _answer(engine, "扁掌龙亚科的化石在哪些洲有发现？")
    assert "各大洲" in answer and "但澳洲的化石仍有争议" in answer


def test_respectively_asks_for_every_value(engine: RagEngine) -> None:
    answer = _answer(engine, "莫镇男子和女子的平均年收入分别是多少？")
    assert "31,875美元" in answer and "23,235美元" in answer


def test_the_answer_keeps_the_clause_naming_the_asked_context(engine: RagEngine) -> None:
    answer = _answer(engine, "2002年莫镇的居民总数是多少？")
    assert "根据2002年人口普查的数据，居民总数为31459人" in answer


def test_citation_quote_is_verbatim_in_the_cited_paragraph(engine: RagEngine) -> None:
    answer = engine.ask("龙胆分布在哪些地区？")
    citation = answer.citations[0]
    assert citation.quote in citation.text
