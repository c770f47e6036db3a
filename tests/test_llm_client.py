"""The LLM client's own guarantees: a hard deadline, one error type, no reasoning text."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from rag.answer.llm.client import LLMError, within, without_thinking


def _trickle(n: int, every: float) -> Iterator[str]:
    for i in range(n):
        time.sleep(every)
        yield str(i)


def test_within_passes_items_through() -> None:
    assert list(within(time.monotonic() + 5, lambda: iter(["a", "b"]))) == ["a", "b"]


def test_within_stops_a_trickling_producer_at_the_deadline() -> None:
    started = time.monotonic()
    received = []
    with pytest.raises(LLMError) as caught:
        for item in within(started + 0.3, lambda: _trickle(100, 0.05)):
            received.append(item)
    assert caught.value.kind == "timeout"
    assert 0.25 < time.monotonic() - started < 0.6
    assert 2 <= len(received) < 10


def test_within_turns_any_client_failure_into_one_error() -> None:
    def broken() -> Iterator[str]:
        yield "a"
        raise KeyError("choices")

    with pytest.raises(LLMError) as caught:
        list(within(time.monotonic() + 5, broken))
    assert caught.value.kind == "malformed"
    assert isinstance(caught.value.__cause__, KeyError)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_reasoning_block_is_removed_however_the_tags_are_split(size: int) -> None:
    text = "<think>先想一想：也许是2000家。</think>光谷瞪羚企业累计达1690家[1]。<b>"
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    assert "".join(without_thinking(pieces)) == "光谷瞪羚企业累计达1690家[1]。<b>"


def test_text_without_reasoning_is_unchanged() -> None:
    assert "".join(without_thinking(["a < b", " <", "thin", "g>"])) == "a < b <thing>"
