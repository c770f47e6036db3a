"""The extractive reader on a small corpus written for these tests (invented places and
people, not benchmark items): answer shapes, citations and abstention.

The hash embedder makes the dense features noise, so shape tests use a threshold of 0 (they
test what is said, not whether to say it); the abstention tests use the fitted threshold.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from rag.answer.reader.features import ABSTENTION_ONLY, SENTENCE_FEATURES, _proximity, candidates
from rag.answer.reader.model import Linear, ReaderModel, Standardiser, load_model
from rag.answer.reader.question import analyse
from rag.answer.reader.reader import ExtractiveAnswerer, choose_extent
from rag.answer.reader.shape import EXTENT_FEATURES
from rag.config import Settings
from rag.engine import RagEngine
from rag.index.embeddings import HashEmbedder

ARTICLES = [
    {
        "id": "harbour",
        "title": "青屿港扩建工程",
        "text": "青屿港扩建工程由海川港务集团负责建设。"
        "工程新建泊位6个，总投资18.5亿元。"
        "扩建后的港区主要运输煤炭、矿石、粮食和集装箱。"
        "工程之所以提前完工，是因为施工方采用了模块化预制工艺。",
    },
    {
        "id": "orchard",
        "title": "南坪村梨园",
        "text": "南坪村位于云岭县东部。这里种植的雪梨远销华东各地。"
        "村合作社通过统一品种、统一采收和统一销售的方式，带动农户增收。"
        "合作社理事长林书航说，今年梨园产量达到3200吨。",
    },
    {
        "id": "library",
        "title": "河滨图书馆",
        "text": "河滨图书馆于2019年开馆，馆长为周佩文。"
        "馆内设有少儿阅览区、古籍修复室、数字体验厅三大功能区。",
    },
    {
        "id": "writer",
        "title": "作家沈蔓青",
        "text": "沈蔓青是一位儿童文学作家，1968年出生。她现在生活在青屿市。",
    },
    {
        "id": "wharf",
        "title": "东湾5号码头改造完工",
        "text": "东湾港区的改造工程近日全部完工。该码头岸线长420米，可同时停靠两艘货轮。",
    },
    {
        "id": "park",
        "title": "滨江园区招商",
        "text": "滨江园区今年引进了三家龙头企业：恒远科技、江东材料以及南湖生物，"
        "总投资超过50亿元。",
    },
    {
        "id": "institute",
        "title": "南湖研究院",
        "text": "南湖研究院成立于2015年。研究院的主要任务有三项：一是开展基础研究；"
        "二是培养青年人才；三是推动成果转化。",
    },
    {
        "id": "ferry",
        "title": "白沙渡口",
        "text": "白沙渡口每逢雨季客流拥堵，乘客候船时间很长。"
        "为此，县交通局增开了两条夜间航线，并在码头新建了候船大厅。",
    },
    {
        "id": "scenic",
        "title": "云岭景区迎来客流高峰",
        "text": "节假日客流大增。游客多了，景区如何避免排长队？"
        "景区管理处推行了分时预约入园，每小时限流两千人。",
    },
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> RagEngine:
    root = tmp_path_factory.mktemp("reader")
    corpus = root / "made-up.jsonl"
    corpus.write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES), encoding="utf-8"
    )
    settings = Settings(index_dir=root / "index", corpus=[corpus], embedder="hash")
    built = RagEngine(settings, embedder=HashEmbedder())
    built.build()
    return built


def _ask(engine: RagEngine, question: str, threshold: float | None = 0.0) -> tuple[str, str]:
    reader = ExtractiveAnswerer(threshold, query_vector=engine.retriever.embed_query)
    hits = engine.search(question, k=5).hits
    answer = reader.answer(question, hits, engine.store)
    quote = answer.citations[0].quote if answer.citations else ""
    return (answer.answer if answer.answered else ""), quote


def test_a_number_question_is_answered_with_the_figure_in_its_unit(engine: RagEngine) -> None:
    said, quote = _ask(engine, "青屿港扩建工程新建了几个泊位？")
    assert "6个" in said and len(said) < len(quote) + 4
    assert said.endswith("[1]。")


def test_a_list_question_gets_every_item(engine: RagEngine) -> None:
    said, _ = _ask(engine, "扩建后的港区主要运输哪些货物？")
    assert all(item in said for item in ("煤炭", "矿石", "粮食", "集装箱"))


def test_a_list_announced_by_a_colon_is_quoted_whole(engine: RagEngine) -> None:
    said, quote = _ask(engine, "滨江园区今年引进了哪些龙头企业？")
    assert all(item in said for item in ("恒远科技", "江东材料", "南湖生物"))
    assert "南湖生物" in quote


def test_list_items_chained_by_semicolons_are_all_quoted(engine: RagEngine) -> None:
    said, _ = _ask(engine, "南湖研究院的主要任务有哪些？")
    assert all(item in said for item in ("基础研究", "青年人才", "成果转化"))


def test_a_why_question_gets_the_cause(engine: RagEngine) -> None:
    said, _ = _ask(engine, "青屿港扩建工程为什么提前完工？")
    assert "模块化预制工艺" in said


def test_a_how_question_gets_the_method(engine: RagEngine) -> None:
    said, _ = _ask(engine, "南坪村合作社是如何带动农户增收的？")
    # the method clause keeps its enumeration whole, not its first item only
    assert all(item in said for item in ("统一品种", "统一采收", "统一销售"))


def test_a_how_question_about_a_problem_gets_what_was_done_about_it(engine: RagEngine) -> None:
    said, quote = _ask(engine, "白沙渡口如何解决雨季客流拥堵的问题？")
    # the sentence that matches states the problem; the one after it ("为此，…") answers it
    assert "增开了两条夜间航线" in said and "增开了两条夜间航线" in quote


def test_a_question_the_source_asks_itself_is_answered_by_the_sentence_after(
    engine: RagEngine,
) -> None:
    said, _ = _ask(engine, "云岭景区怎样避免游客排长队？")
    assert "分时预约入园" in said


def test_a_person_is_found_after_the_title_asked_for(engine: RagEngine) -> None:
    said, _ = _ask(engine, "河滨图书馆的馆长是谁？")
    assert "周佩文" in said


def test_the_quote_is_verbatim_in_the_cited_paragraph(engine: RagEngine) -> None:
    reader = ExtractiveAnswerer(0.0, query_vector=engine.retriever.embed_query)
    question = "南坪村梨园今年的产量是多少？"
    answer = reader.answer(question, engine.search(question, k=5).hits, engine.store)
    citation = answer.citations[0]
    assert citation.quote in citation.text and "3200吨" in citation.quote


def test_a_fact_the_sources_do_not_hold_is_refused(engine: RagEngine) -> None:
    # The library is in the corpus, its floor area is not: a near miss.
    said, _ = _ask(engine, "河滨图书馆的建筑面积是多少平方米？", threshold=None)
    assert said == ""


def test_a_subject_absent_from_the_corpus_is_refused(engine: RagEngine) -> None:
    said, _ = _ask(engine, "金川水电站的装机容量是多少千瓦？", threshold=None)
    assert said == ""


def test_every_feature_is_set_for_every_candidate(engine: RagEngine) -> None:
    info = analyse("河滨图书馆有哪三大功能区？")
    cands = candidates(info, engine.search(info.text, k=3).hits, engine.store, 3)
    assert cands and all(set(c.values) <= {*SENTENCE_FEATURES, *ABSTENTION_ONLY} for c in cands)
    assert all("focus_article" in c.values for c in cands)
    assert any(c.values["list_enum"] > 0 for c in cands)


def test_a_sentence_whose_subject_is_a_pronoun_has_the_title_s_words(engine: RagEngine) -> None:
    info = analyse("沈蔓青现在生活在哪里？")
    cands = candidates(info, engine.search(info.text, k=3).hits, engine.store, 3)
    by_start = {c.sentence[:2]: c for c in cands if c.hit.chunk.doc_id == "writer"}
    # "她现在生活在…" holds the question's verbs and, through the title, its subject too
    assert by_start["她现"].values["lex_sentence"] == pytest.approx(1.0)
    assert by_start["沈蔓"].values["lex_sentence"] < 1.0
    assert _ask(engine, "沈蔓青现在生活在哪里？")[0].startswith("她现在生活在青屿市")


def test_a_sentence_whose_subject_is_a_pronoun_has_the_title_s_figures(engine: RagEngine) -> None:
    # "该码头" is the title's 5号码头: the question's "5" is not missing from that sentence
    info = analyse("东湾5号码头的岸线有多长？")
    cands = candidates(info, engine.search(info.text, k=3).hits, engine.store, 3)
    by_start = {c.sentence[:2]: c for c in cands if c.hit.chunk.doc_id == "wharf"}
    assert by_start["该码"].values["figures"] == 1.0
    assert by_start["东湾"].values["figures"] == 0.0


def test_a_name_the_question_abbreviates_is_not_missing_from_the_article(
    engine: RagEngine,
) -> None:
    # the article's title writes 东湾5号码头 out; the question shortens it to 东湾码头
    for question, missing in (("“东湾码头”的岸线有多长？", 0.0), ("“西岭码头”的岸线有多长？", 1.0)):
        info = analyse(question)
        assert info.entities[-1].endswith("码头")  # a name, which the article must mention
        cands = candidates(info, engine.search(info.text, k=3).hits, engine.store, 3)
        wharf = [c for c in cands if c.hit.chunk.doc_id == "wharf"]
        assert wharf and all(c.values["missing_entity"] == missing for c in wharf)


def test_proximity_spans_only_the_words_the_sentence_itself_holds() -> None:
    # "东湾" came from the title (a pronoun-subject sentence): it has no place in the sentence
    text = "总投资很多，其中新建两座"
    assert _proximity({"总投资", "新建", "东湾"}, text) == pytest.approx(5 / 10)


def test_the_asked_relation_counts_apart_from_the_article_s_subject(engine: RagEngine) -> None:
    # Both sentences name the harbour works (the title); only one holds what is asked.
    info = analyse("青屿港扩建工程的总投资是多少？")
    cands = candidates(info, engine.search(info.text, k=3).hits, engine.store, 3)
    by_start = {c.sentence[:4]: c for c in cands if c.hit.chunk.doc_id == "harbour"}
    asked, subject = by_start["工程新建"], by_start["青屿港扩"]
    assert asked.values["lex_rest"] == pytest.approx(1.0)
    assert subject.values["lex_rest"] == 0.0
    assert subject.values["lex_sentence"] > asked.values["lex_sentence"]


def test_words_absent_from_an_article_lower_its_sentences(engine: RagEngine) -> None:
    info = analyse("河滨图书馆的馆长是谁？")
    cands = candidates(info, engine.search(info.text, k=5).hits, engine.store, 5)
    article = {c.hit.chunk.doc_id: c.values["lex_article"] for c in cands}
    assert article["library"] == pytest.approx(1.0)
    assert all(v < 1.0 for doc, v in article.items() if doc != "library")


def test_the_shipped_model_names_the_features_the_reader_computes() -> None:
    model = load_model()
    assert model.sentence.features == SENTENCE_FEATURES
    assert len(model.sentence.coef) == len(SENTENCE_FEATURES)
    assert 0.0 < model.threshold < 1.0
    assert "train" in model.provenance["fitted_on"]
    assert set(model.extent) == {"short", "clause"}
    assert all(m.features == EXTENT_FEATURES for m in model.extent.values())


def _gain(feature: str, weight: float) -> Linear:
    standard = Standardiser(np.zeros(1), np.ones(1), np.full(1, -9.0), np.full(1, 9.0))
    return Linear((feature,), standard, np.array([weight]), 0.0)


def test_the_extent_with_the_highest_predicted_gain_is_said() -> None:
    gains = {"short": _gain("span_fits", 0.3), "clause": _gain("span_fits", 0.1)}
    assert choose_extent(gains, {"span_fits": 1.0}) == "short"
    assert choose_extent(gains, {"span_fits": -1.0}) == "quote"  # no extent gains: the quote
    assert choose_extent({}, {"span_fits": 1.0}) == "quote"


def test_the_extent_chooser_survives_the_model_file() -> None:
    model = replace(load_model(), extent={"short": _gain("has_short", 0.5)})
    again = ReaderModel.of(json.loads(json.dumps(model.to_json())))
    assert again.extent["short"].features == ("has_short",)
    assert again.extent["short"].value(np.array([[1.0]]))[0] == pytest.approx(0.5)


def test_a_feature_beyond_the_fitted_range_counts_as_its_edge() -> None:
    standard = Standardiser.fit(np.array([[0.8, 0.0], [0.9, 1.0], [1.0, 0.0]]))
    far, edge = standard(np.array([[0.0, 1.0], [0.8, 1.0]]))
    assert far == pytest.approx(edge)  # 0.0 is far below anything fitted: it counts as 0.8
    assert standard(np.array([[0.9, 5.0]]))[0, 1] == pytest.approx(
        standard(np.array([[0.9, 1.0]]))[0, 1]
    )
