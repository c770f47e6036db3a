"""English questions over Chinese documents: dictionary translations, kept where the corpus
uses them, feed lexical search and the reader's word overlap."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.answer.reader.reader import ExtractiveAnswerer, cross_query
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder
from rag.search.translation import PER_WORD, chinese_terms
from rag.text.crosslingual import english_words, forms, read_glossary, senses, translate

HARBOUR = (
    "滨江港区台风期间暂停装卸作业。\n\n"
    "台风过后，受损渔船可以获得保险赔偿，每船最高6千元。\n\n"
    "港区新建了两座冷链仓库，由海川物流公司运营。"
)


def _table(text: str) -> dict[str, tuple[str, ...]]:
    return {t.english: t.chinese for t in translate(text)}


def test_words_and_phrases_get_their_chinese_words() -> None:
    table = _table("Which factories bought insurance for their fishing boats before the typhoon?")
    assert "工厂" in table["factories"]  # a plural, looked up by its singular
    assert "保险" in table["insurance"] and "台风" in table["typhoon"]
    assert "渔船" in table["fishing boats"]  # the phrase, not "fishing" and "boats"
    assert "fishing" not in table and "boats" not in table


def test_question_words_stopwords_and_figures_are_not_translated() -> None:
    table = _table("How many of the 35 projects are in Ningbo?")
    assert set(table) == {"projects", "ningbo"}
    assert "宁波" in table["ningbo"]  # a place name, from the dictionary's proper nouns


def test_inflections_and_hyphens_find_their_stems() -> None:
    table = _table("Where is the new high-tech storage of the cold-chain company?")
    assert {"高新技术", "高科技"} & set(table["high tech"])
    assert "公司" in table["company"]
    assert "建设" in _table("construction")["construction"]  # the noun, through its verb
    adjectives = _table("regional agricultural technological")  # adjectives, through nouns
    assert "地区" in adjectives["regional"] and "农业" in adjectives["agricultural"]
    assert "技术" in adjectives["technological"]


def test_common_words_come_first_and_single_characters_last() -> None:
    for chinese in (t.chinese for t in translate("tax zone company harbour warehouse")):
        singles = [len(w) == 1 for w in chinese]
        assert singles == sorted(singles)


def test_english_words_drop_possessives_and_keep_figures() -> None:
    assert english_words("Haichuan's 2 warehouses cost 8.5%") == [
        "haichuan",
        "2",
        "warehouses",
        "cost",
        "8.5%",
    ]


@pytest.fixture
def harbour_engine(tmp_path: Path) -> RagEngine:
    settings = Settings(index_dir=tmp_path / "index", corpus=[tmp_path / "none"], embedder="hash")
    engine = RagEngine(settings, embedder=HashEmbedder())
    engine.add_document("滨江港区台风后恢复作业", HARBOUR, doc_id="harbour")
    engine.add_document("城市公园改造", "公园新增健身步道三公里。", doc_id="park")
    return engine


def test_only_translations_the_corpus_holds_are_kept(harbour_engine: RagEngine) -> None:
    question = "What compensation do fishing boats get after a typhoon?"
    terms = chinese_terms(question, harbour_engine.store)
    assert "赔偿" in terms and "渔船" in terms and "台风" in terms
    known = harbour_engine.store.idf(terms)
    assert all(t in known for t in terms)  # nothing the corpus lacks
    for t in translate(question):
        assert len([w for w in t.chinese if w in terms]) <= PER_WORD
    assert chinese_terms("台风过后渔船有赔偿吗？", harbour_engine.store) == []  # Chinese: as it is


def test_an_english_question_finds_chinese_text_by_words(harbour_engine: RagEngine) -> None:
    hits = harbour_engine.search("typhoon compensation for fishing boats", k=2, mode="bm25").hits
    assert hits and hits[0].chunk.doc_id == "harbour" and "赔偿" in hits[0].chunk.text


def test_names_in_latin_letters_stay_terms_when_the_corpus_has_them(
    harbour_engine: RagEngine,
) -> None:
    harbour_engine.add_document("巡检机器人", "Tidewatch T9巡检机器人重48千克。", doc_id="robot")
    terms = chinese_terms("How heavy is the Tidewatch T9 robot?", harbour_engine.store)
    assert "机器人" in terms and "tidewatch" in terms and "t9" in terms


def test_the_glossary_is_read_once_and_then_from_the_cache(tmp_path: Path) -> None:
    source = tmp_path / "cedict.txt.gz"
    lines = [
        "# CC-CEDICT",
        "補貼 补贴 [bu3 tie1] /to subsidize/subsidy/allowance/",
        "港區 港区 [gang3 qu1] /port area; harbour district/",
        "位於 位于 [wei4 yu2] /to be located at; to be situated at/",
        "保稅區 保税区 [bao3 shui4 qu1] /bonded area/",
        "保稅 保税 [bao3 shui4] /abbr. for 保稅區|保税区[bao3 shui4 qu1]/",
        "寧波 宁波 [Ning2 bo1] /Ningbo subprovincial city in Zhejiang/",
        "LED LED [L E D] /LED (light-emitting diode)/",
        "區 区 [Ou1] /surname Ou/",
    ]
    source.write_bytes(gzip.compress("\n".join(lines).encode()))
    table = read_glossary(source, tmp_path / "cache")
    assert table["subsidy"] == ("补贴",) and table["subsidize"] == ("补贴",)
    assert table["harbour district"] == ("港区",) and table["port area"] == ("港区",)
    assert table["ningbo"] == ("宁波",)  # the name that opens a proper noun's definition
    assert table["located"] == table["be located at"] == ("位于",)  # no "be", no preposition
    assert set(table["bonded area"]) == {"保税区", "保税"}  # an abbreviation, as its full form
    assert "ou" not in table and "led" not in table  # surnames, and lines with no Han word
    (cached,) = (tmp_path / "cache").iterdir()
    source_copy = tmp_path / "same.txt.gz"
    source_copy.write_bytes(source.read_bytes())
    cached.write_text('{"subsidy": ["津贴"]}', encoding="utf-8")  # what is read is the cache
    assert read_glossary(source_copy, tmp_path / "cache") == {"subsidy": ("津贴",)}


def test_any_translation_of_a_word_counts_as_that_word_for_the_reader(
    harbour_engine: RagEngine,
) -> None:
    """ "extended" is 推广 as often as 延长: a sentence saying 延长 holds the word even where
    the corpus also says 推广, the more common translation."""
    harbour_engine.add_document(
        "港区渔业",
        "港区推广新型渔网，扩展冷链仓库，延伸航道。受台风影响，休渔期延长了十天。",
        doc_id="season",
    )
    answerer, store = harbour_engine.answerer, harbour_engine.store
    assert isinstance(answerer, ExtractiveAnswerer)
    question = "Why was the closure extended?"
    hits = harbour_engine.search(question, k=3, mode="bm25").hits
    info = answerer.question_info(question, store, hits)
    assert ("延长", "推广") in info.synonyms and "推广" in info.terms
    overlap = {c.sentence: c.values["lex_sentence"] for c in answerer.candidates(info, hits, store)}
    assert overlap["受台风影响，休渔期延长了十天。"] > 0


def test_cross_lingual_similarity_reads_the_question_with_its_chinese_words(
    harbour_engine: RagEngine,
) -> None:
    """The sentences of an English question are scored against the question followed by the
    Chinese words found for it, so the model compares Chinese with Chinese where it can."""
    answerer, store = harbour_engine.answerer, harbour_engine.store
    assert isinstance(answerer, ExtractiveAnswerer)
    asked: list[str] = []

    def scorer(query: str, sentences: Sequence[str]) -> np.ndarray:
        asked.append(query)
        return np.zeros(len(sentences))

    reader = ExtractiveAnswerer(scorer=scorer, model=answerer.model)
    question = "Who operates the cold chain warehouses?"
    hits = harbour_engine.search(question, k=3, mode="bm25").hits
    info = reader.question_info(question, store, hits)
    assert "冷链" in info.terms
    reader.candidates(info, hits, store)
    assert asked == [cross_query(info)]
    assert asked[0].startswith(question) and "冷链" in asked[0]


def test_chinese_words_read_back_into_english_senses() -> None:
    assert "household" in senses("户") and "resident" in senses("居民")
    assert "the" not in senses("户")  # stopwords are no sense
    assert senses("不是一个词语") == ()
    assert "household" in forms("households") and "live" in forms("lived")


def test_the_dictionary_senses_of_a_sentence_match_an_english_questions_words(
    harbour_engine: RagEngine,
) -> None:
    """The sentence whose words mean what the English question says scores higher, even
    where retrieval's translations of those words are not the words the sentence uses."""
    answerer, store = harbour_engine.answerer, harbour_engine.store
    assert isinstance(answerer, ExtractiveAnswerer)
    question = "Which company runs the new refrigerated warehouses?"
    hits = harbour_engine.search(question, k=3, mode="dense").hits  # every paragraph
    info = answerer.question_info(question, store, hits)
    gloss = {c.sentence: c.values["gloss"] for c in answerer.candidates(info, hits, store)}
    best = gloss.pop("港区新建了两座冷链仓库，由海川物流公司运营。")
    assert gloss and best > max(gloss.values())
    chinese = answerer.question_info("哪家公司运营冷链仓库？", store, hits)
    assert all(c.values["gloss"] == 0.0 for c in answerer.candidates(chinese, hits, store))
