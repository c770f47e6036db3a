"""``/v1``: OpenAI-compatible chat, checked with TestClient and with the official ``openai`` client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.openai import source_list
from rag.engine import RagEngine
from tests.live_server import LiveServer

QUESTION = "北京经开区已在几个未来产业细分领域形成相对成熟的基础？"


@pytest.fixture
def client(hash_engine: RagEngine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=hash_engine)) as c:
        yield c


def chat(client: TestClient, **body: object) -> httpx.Response:
    body = {"model": "rag-zh", "messages": [{"role": "user", "content": QUESTION}], **body}
    return client.post("/v1/chat/completions", json=body)


def test_models_lists_the_one_model(client: TestClient) -> None:
    data = client.get("/v1/models").json()
    assert [m["id"] for m in data["data"]] == ["rag-zh"]
    assert client.get("/v1/models/rag-zh").json()["object"] == "model"
    assert client.get("/v1/models/gpt-4o").status_code == 404


def test_completion_is_the_ask_answer_with_its_sources(client: TestClient) -> None:
    asked = client.post("/ask", json={"question": QUESTION}).json()
    data = chat(client, temperature=0.2, max_tokens=50).json()  # sampling options are ignored
    content = data["choices"][0]["message"]["content"]
    assert data["object"] == "chat.completion" and data["model"] == "rag-zh"
    assert content.startswith(asked["answer"])
    assert data["citations"] == asked["citations"] and data["answered"] == asked["answered"]
    for c in asked["citations"]:
        assert f"[{c['id']}] {c['title']} · 第{c['paragraph']}段 · “{c['quote']}”" in content


def test_the_last_user_message_is_the_question_and_text_parts_count(client: TestClient) -> None:
    messages = [
        {"role": "system", "content": "你是助手"},
        {"role": "user", "content": "第一个问题"},
        {"role": "assistant", "content": "回答"},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
    ]
    data = chat(client, messages=messages).json()
    asked = client.post("/ask", json={"question": QUESTION}).json()
    assert data["choices"][0]["message"]["content"].startswith(asked["answer"])


def test_stream_is_openai_chunks_ending_in_done(client: TestClient) -> None:
    response = chat(client, stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[0]["citations"] and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == chat(client).json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "gpt-4o"}, 404),
        ({"messages": []}, 422),
        ({"messages": [{"role": "system", "content": "只有系统消息"}]}, 422),
        ({"messages": [{"role": "user", "content": "   "}]}, 422),
        ({"messages": [{"role": "wizard", "content": QUESTION}]}, 422),
        ({"messages": "not a list"}, 422),
        ({"top_k": 0}, 422),
    ],
)
def test_bad_requests_are_4xx_json(
    client: TestClient, body: dict[str, object], status: int
) -> None:
    response = chat(client, **body)
    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_stream_with_a_bad_question_is_a_plain_4xx(client: TestClient) -> None:
    response = chat(client, stream=True, messages=[{"role": "user", "content": ""}])
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input"


def test_chat_body_must_be_json(client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", content=b"x", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415


def test_v1_needs_the_token_when_reads_are_protected(hash_engine: RagEngine) -> None:
    settings = hash_engine.settings.model_copy(update={"api_token": "t0k", "api_token_reads": True})
    with TestClient(create_app(settings, hash_engine)) as c:
        assert c.get("/v1/models").status_code == 401
        assert chat(c).status_code == 401
        auth = {"Authorization": "Bearer t0k"}
        assert c.get("/v1/models", headers=auth).status_code == 200


def test_source_list_names_nearest_sources_when_unanswered(hash_engine: RagEngine) -> None:
    answer = hash_engine.ask("月球背面的咖啡馆几点开门？")
    assert not answer.answered
    assert source_list(answer).startswith("\n\n最接近的资料：") or not answer.citations


@pytest.mark.e2e
def test_the_official_openai_client_gets_answers_and_streams(e5_server: LiveServer) -> None:
    import openai  # ~1 s to import: only in the one test that uses it

    api = openai.OpenAI(base_url=e5_server.url + "/v1", api_key=e5_server.token, max_retries=0)
    assert [m.id for m in api.models.list()] == ["rag-zh"]

    completion = api.chat.completions.create(
        model="rag-zh", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content or ""
    assert "9个" in content and "[1]" in content and "来源：" in content
    extra = completion.model_extra or {}
    assert extra["answered"] is True
    assert extra["citations"][0]["quote"] in extra["citations"][0]["text"]

    stream = api.chat.completions.create(
        model="rag-zh", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert streamed == content

    anonymous = openai.OpenAI(base_url=e5_server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anonymous.models.list()
    with pytest.raises(openai.NotFoundError):
        api.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
