"""LLM answers end to end: a real OpenAI-compatible HTTP server on loopback, scripted per test."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from rag.answer.types import Answer, StreamEvent
from rag.config import Settings
from rag.engine import RagEngine
from tests.fakes import FakeLLM

QUESTION = "光谷瞪羚企业累计达到多少家？"
TIMEOUT = 0.5


@pytest.fixture
def llm_engine(hash_engine: RagEngine, fake_llm: FakeLLM) -> RagEngine:
    """The seed index (hash embedder) with the LLM settings pointing at the fake server."""
    settings = hash_engine.settings.model_copy(
        update={"llm_base_url": fake_llm.url, "llm_model": "fake-model", "llm_timeout": TIMEOUT}
    )
    engine = RagEngine(settings, embedder=hash_engine.embedder)
    # One-off costs outside the timed requests: importing LangChain, loading jieba's tagger.
    engine.answerer_for()
    engine.ask(QUESTION, mode="extractive")
    return engine


def source_number(prompt: str, needle: str) -> int:
    """The number the prompt gives the source containing ``needle``."""
    for block in prompt.split("\n\n"):
        m = re.match(r"\[(\d+)\] ", block)
        if m and needle in block:
            return int(m.group(1))
    raise AssertionError(f"no source holds {needle!r}")


def cites(template: str, *needles: str) -> Callable[[str], str]:
    """An answer citing, for each ``{}`` in ``template``, the source holding that needle."""
    return lambda prompt: template.format(*(source_number(prompt, n) for n in needles))


def collect(events: Iterator[StreamEvent]) -> tuple[list[StreamEvent], Answer]:
    out = list(events)
    done = out[-1]
    assert done.kind == "done" and done.answer is not None
    assert [e.kind for e in out].count("done") == 1
    return out, done.answer


# -- answers ---------------------------------------------------------------------------------


def test_answer_is_verified_and_cites_the_supporting_sentence(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    fake_llm.answer = cites("光谷瞪羚企业累计达1,690家[{}]。", "1690家")
    answer = llm_engine.ask(QUESTION)
    assert answer.mode == "llm" and answer.answered
    assert answer.answer == "光谷瞪羚企业累计达1,690家[1]。"
    assert len(answer.citations) == 1
    citation = answer.citations[0]
    assert citation.id == 1
    assert "光谷瞪羚企业累计达1690家" in citation.quote
    assert citation.quote in citation.text
    assert not answer.warnings
    assert answer.details["verification"] == {
        "kept": 1,
        "flagged": 0,
        "dropped": 0,
        "markers_removed": 0,
    }
    assert answer.details["llm"] == {"model": "fake-model", "outcome": "answered"}
    # The quote's offsets point at the same text in the source document.
    article = llm_engine.store.article(citation.doc_id)
    paragraph = article.paragraph(citation.paragraph)
    start = paragraph.text.index(citation.quote)
    assert paragraph.source_span(start, start + len(citation.quote)) == (
        citation.start,
        citation.end,
    )


def test_prompt_numbers_the_sources_and_asks_for_citations(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    fake_llm.answer = cites("光谷瞪羚企业累计达1690家[{}]。", "1690家")
    llm_engine.ask(QUESTION, k=3)
    (request,) = fake_llm.requests
    assert request["model"] == "fake-model"
    assert not request.get("stream")
    system, user = request["messages"]
    assert system["role"] == "system" and "资料中未找到" in system["content"]
    assert "[n]" in system["content"] or "[1]" in system["content"]
    assert user["content"].endswith(f"问题：{QUESTION}")
    assert re.findall(r"^\[(\d)\] 《.+》第\d+段$", user["content"], re.M) == ["1", "2", "3"]


def test_stream_relays_tokens_then_the_verified_answer(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    raw = "光谷瞪羚企业累计达1690家[{}]，其中23家为上市公司[{}]。"
    fake_llm.answer = cites(raw, "1690家", "23家上市公司")
    events, answer = collect(llm_engine.ask_stream(QUESTION))
    assert events[0].kind == "citations" and len(events[0].citations) == 5
    assert [c.id for c in events[0].citations] == [1, 2, 3, 4, 5]
    deltas = [e.text for e in events[1:-1]]
    assert all(e.kind == "delta" for e in events[1:-1]) and len(deltas) > 3
    assert "".join(deltas) == fake_llm.answer(fake_llm.requests[0]["messages"][-1]["content"])
    assert fake_llm.requests[0]["stream"] is True
    assert answer.mode == "llm" and answer.answered
    # Both facts are in one paragraph: one citation, renumbered [1] wherever it was.
    assert answer.answer == "光谷瞪羚企业累计达1690家[1]，其中23家为上市公司[1]。"
    assert [c.id for c in answer.citations] == [1]


def test_citations_are_renumbered_in_order_of_use(llm_engine: RagEngine, fake_llm: FakeLLM) -> None:
    fake_llm.answer = cites(
        "光谷在国内首创将获得风险投资作为瞪羚企业的认定标准[{}]。光谷瞪羚企业累计达1690家[{}]。",
        "首创将获得风险投资",
        "1690家",
    )
    answer = llm_engine.ask(QUESTION)
    assert answer.mode == "llm"
    assert re.findall(r"\[(\d+)\]", answer.answer) == ["1", "2"]
    assert "风险投资" in answer.citations[0].quote
    assert "1690家" in answer.citations[1].quote


# -- verification ----------------------------------------------------------------------------


def test_marker_naming_a_source_not_given_is_removed(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    fake_llm.answer = cites("光谷瞪羚企业累计达1690家[{}][9]。", "1690家")
    answer = llm_engine.ask(QUESTION)
    assert answer.mode == "llm"
    assert answer.answer == "光谷瞪羚企业累计达1690家[1]。"
    assert [c.id for c in answer.citations] == [1]
    assert any("[9]" in w and "no such source" in w for w in answer.warnings)
    assert answer.details["verification"]["markers_removed"] == 1


def test_sentence_with_an_unsupported_number_is_dropped(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    fake_llm.answer = cites(
        "光谷瞪羚企业累计达1690家[{}]。其中上市公司有45家[{}]。", "1690家", "1690家"
    )
    answer = llm_engine.ask(QUESTION)
    assert answer.mode == "llm" and answer.answered
    assert answer.answer == "光谷瞪羚企业累计达1690家[1]。"
    assert "45" not in answer.answer
    (warning,) = answer.warnings
    assert warning.startswith("dropped") and "45家" in warning
    counts = answer.details["verification"]
    assert (counts["kept"], counts["flagged"], counts["dropped"]) == (1, 0, 1)


def test_answer_with_nothing_supported_falls_back_to_extractive(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    fake_llm.answer = cites("光谷瞪羚企业累计达2000家[{}]。", "1690家")
    answer = llm_engine.ask(QUESTION)
    assert answer.mode == "extractive" and answer.answered
    assert "1690家" in answer.answer
    assert any("no sentence of the LLM answer was supported" in w for w in answer.warnings)
    assert any(w.startswith("dropped") and "2000家" in w for w in answer.warnings)
    assert answer.details["llm"]["outcome"] == "unsupported"
    assert answer.details["verification"]["dropped"] == 1


def test_not_found_is_an_abstention_with_the_closest_sources(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    fake_llm.answer = lambda prompt: "资料中未找到"
    answer = llm_engine.ask("光谷的吉祥物叫什么名字？")
    assert answer.mode == "llm" and not answer.answered
    assert answer.answer.startswith("资料中未找到")
    assert answer.citations
    assert answer.details["llm"]["outcome"] == "not_found"


def test_reasoning_block_is_not_streamed_nor_verified(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    fake_llm.piece = 2  # splits the <think> tags across chunks
    fake_llm.answer = cites("<think>也许是2000家？</think>光谷瞪羚企业累计达1690家[{}]。", "1690家")
    events, answer = collect(llm_engine.ask_stream(QUESTION))
    streamed = "".join(e.text for e in events if e.kind == "delta")
    assert "think" not in streamed and "2000" not in streamed
    assert answer.mode == "llm" and answer.answer == "光谷瞪羚企业累计达1690家[1]。"
    assert not answer.warnings


def test_english_question_keeps_numbers_checked(llm_engine: RagEngine, fake_llm: FakeLLM) -> None:
    fake_llm.answer = cites(
        "Optics Valley has 1,690 gazelle companies [{}]. Of them, 99 are listed [{}].",
        "1690家",
        "1690家",
    )
    answer = llm_engine.ask("How many gazelle companies (瞪羚企业) does 光谷 have?")
    assert answer.mode == "llm"
    assert answer.answer == "Optics Valley has 1,690 gazelle companies [1]."
    assert answer.details["verification"]["dropped"] == 1


# -- failures --------------------------------------------------------------------------------


def _assert_fallback(answer: Answer, error: str, warning: str) -> None:
    assert answer.mode == "extractive"
    assert answer.answered and "1690家" in answer.answer
    assert answer.details["llm"]["outcome"] == "error"
    assert answer.details["llm"]["error"] == error
    assert any(warning in w and "extractive answer instead" in w for w in answer.warnings)


def test_timeout_falls_back_within_the_timeout(llm_engine: RagEngine, fake_llm: FakeLLM) -> None:
    fake_llm.delay = 3.0
    fake_llm.answer = cites("光谷瞪羚企业累计达1690家[{}]。", "1690家")
    started = time.monotonic()
    answer = llm_engine.ask(QUESTION)
    assert time.monotonic() - started < TIMEOUT + 0.8
    _assert_fallback(answer, "timeout", f"no answer within {TIMEOUT:g} s")


def test_server_error_falls_back(llm_engine: RagEngine, fake_llm: FakeLLM) -> None:
    fake_llm.status = 500
    _assert_fallback(llm_engine.ask(QUESTION), "http", "HTTP 500")


def test_client_error_falls_back(llm_engine: RagEngine, fake_llm: FakeLLM) -> None:
    fake_llm.status = 404
    fake_llm.body = b'{"error": {"message": "model fake-model not found"}}'
    _assert_fallback(llm_engine.ask(QUESTION), "http", "model fake-model not found")


def test_malformed_json_falls_back(llm_engine: RagEngine, fake_llm: FakeLLM) -> None:
    fake_llm.body = b'{"choices": [{"message": '
    _assert_fallback(llm_engine.ask(QUESTION), "malformed", "malformed")


def test_response_without_choices_falls_back(llm_engine: RagEngine, fake_llm: FakeLLM) -> None:
    fake_llm.body = b'{"id": "x", "object": "chat.completion"}'
    _assert_fallback(llm_engine.ask(QUESTION), "malformed", "malformed")


def test_empty_output_falls_back(llm_engine: RagEngine, fake_llm: FakeLLM) -> None:
    fake_llm.answer = lambda prompt: ""
    _assert_fallback(llm_engine.ask(QUESTION), "empty", "empty")


def test_unreachable_server_falls_back(hash_engine: RagEngine) -> None:
    with socket.socket() as s:  # a port nobody listens on once this socket closes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = hash_engine.settings.model_copy(
        update={"llm_base_url": f"http://127.0.0.1:{port}/v1", "llm_timeout": TIMEOUT}
    )
    engine = RagEngine(settings, embedder=hash_engine.embedder)
    _assert_fallback(engine.ask(QUESTION), "unreachable", "unreachable")


@pytest.mark.parametrize("failure", ["timeout", "500", "malformed", "empty"])
def test_stream_failure_before_any_token_streams_the_extractive_answer(
    llm_engine: RagEngine, fake_llm: FakeLLM, failure: str
) -> None:
    fake_llm.answer = lambda prompt: ""
    if failure == "timeout":
        fake_llm.delay = 3.0
    elif failure == "500":
        fake_llm.status = 500
    elif failure == "malformed":
        fake_llm.body = b"data: {not json\n\n"
    started = time.monotonic()
    events, answer = collect(llm_engine.ask_stream(QUESTION))
    assert time.monotonic() - started < TIMEOUT + 0.8
    error, warning = {
        "timeout": ("timeout", "no answer within"),
        "500": ("http", "HTTP 500"),
        "malformed": ("malformed", "malformed"),
        "empty": ("empty", "empty"),
    }[failure]
    _assert_fallback(answer, error, warning)
    assert events[0].kind == "citations"
    # The extractive stream follows as it would on its own: its citations, its text, done.
    last_citations = [e for e in events if e.kind == "citations"][-1]
    assert last_citations.citations == answer.citations
    assert "".join(e.text for e in events if e.kind == "delta") == answer.answer


@pytest.mark.parametrize("stall", [3.0, b"data: {not json\n\n"], ids=["timeout", "malformed"])
def test_stream_failure_after_tokens_verifies_what_arrived(
    llm_engine: RagEngine, fake_llm: FakeLLM, stall: float | bytes
) -> None:
    fake_llm.answer = cites(
        "光谷瞪羚企业累计达1690家[{}]。其中上市公司有23家[{}]。", "1690家", "1690家"
    )
    fake_llm.stall_after = 6  # after the first sentence and its marker
    fake_llm.stall = stall
    started = time.monotonic()
    events, answer = collect(llm_engine.ask_stream(QUESTION))
    assert time.monotonic() - started < TIMEOUT + 0.8
    assert "".join(e.text for e in events if e.kind == "delta").startswith(
        "光谷瞪羚企业累计达1690家"
    )
    assert answer.mode == "llm" and answer.answered
    assert answer.answer == "光谷瞪羚企业累计达1690家[1]。"
    assert any("stream broke off" in w for w in answer.warnings)
    assert not any("extractive answer instead" in w for w in answer.warnings)
    error = "timeout" if isinstance(stall, float) else "malformed"
    assert answer.details["llm"] == {"model": "fake-model", "outcome": "answered", "error": error}
    assert answer.details["verification"]["kept"] == 1


# -- choosing the answerer -------------------------------------------------------------------


def test_request_for_extractive_mode_does_not_call_the_llm(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    answer = llm_engine.ask(QUESTION, mode="extractive")
    assert answer.mode == "extractive" and "llm" not in answer.details
    _, streamed = collect(llm_engine.ask_stream(QUESTION, mode="extractive"))
    assert streamed.mode == "extractive"
    assert fake_llm.requests == []


def test_without_llm_settings_answers_are_extractive(hash_engine: RagEngine) -> None:
    assert hash_engine.settings.llm_base_url is None
    answer = hash_engine.ask(QUESTION)
    assert answer.mode == "extractive" and not answer.warnings and "llm" not in answer.details


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("RAG_LLM_MODEL", "qwen2.5-7b-instruct")
    monkeypatch.setenv("RAG_LLM_API_KEY", "sk-test")
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "12.5")
    settings = Settings()
    assert settings.llm_base_url == "http://127.0.0.1:8000/v1"
    assert settings.llm_model == "qwen2.5-7b-instruct"
    assert settings.llm_api_key == "sk-test"
    assert settings.llm_timeout == 12.5


def test_long_paragraph_is_cut_to_whole_sentences_around_the_chunk(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    filler = "这一段文字用来把段落撑长，与问题无关。" * 40  # 760 characters a side
    needle = "蓝鲸实验室的液冷服务器累计部署了4321台。"
    llm_engine.add_document("长段落", filler + needle + filler, doc_id="long")
    fake_llm.answer = cites("液冷服务器累计部署了4321台[{}]。", "4321台")
    answer = llm_engine.ask("蓝鲸实验室的液冷服务器累计部署了多少台？")
    prompt = fake_llm.requests[0]["messages"][-1]["content"]
    (block,) = [b for b in prompt.split("\n\n") if needle in b]
    given = block.split("\n", 1)[1]
    assert 1000 < len(given) <= 1200
    assert given.startswith("这一段") and given.endswith("。")  # whole sentences only
    assert answer.mode == "llm" and answer.citations[0].quote == needle


def test_stream_broken_mid_sentence_falls_back_to_extractive(
    llm_engine: RagEngine, fake_llm: FakeLLM
) -> None:
    fake_llm.answer = cites("光谷瞪羚企业累计达1690家[{}]。", "1690家")
    fake_llm.stall_after = 2  # "光谷瞪羚企业" and nothing more
    fake_llm.stall = b"data: {not json\n\n"
    events, answer = collect(llm_engine.ask_stream(QUESTION))
    assert "".join(e.text for e in events if e.kind == "delta") == "光谷瞪羚企业"
    assert answer.mode == "extractive" and "1690家" in answer.answer
    assert any("stream broke off" in w for w in answer.warnings)
    assert any("extractive answer instead" in w for w in answer.warnings)
    assert answer.details["llm"]["outcome"] == "unsupported"
