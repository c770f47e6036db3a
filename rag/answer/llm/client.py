"""Talking to an OpenAI-compatible chat server (through LangChain) within a deadline.

Every way the call can fail — connection refused, timeout, HTTP 4xx/5xx, a body that is not
the expected JSON, an empty answer — becomes one :class:`LLMError`, so the answerer has a
single failure to turn into its fallback.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol

Messages = Sequence[tuple[str, str]]  # (role, content)
FailureKind = Literal["timeout", "unreachable", "http", "malformed", "empty"]

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


class LLMError(Exception):
    """The LLM gave no usable answer; ``kind`` says why, the message says it for a reader."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind


class ChatModel(Protocol):
    """A chat model: the whole reply at once, or its text as it is generated."""

    name: str

    def complete(self, messages: Messages) -> str: ...

    def stream(self, messages: Messages) -> Iterator[str]: ...


class OpenAIChat:
    """Any server speaking ``/v1/chat/completions`` (vLLM, Ollama, llama.cpp, hosted APIs)."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0
    ) -> None:
        from langchain_openai import ChatOpenAI

        self.name = model
        self._llm = ChatOpenAI(
            model=model,
            base_url=base_url,
            # Local servers ignore the key, but the OpenAI client refuses to start without one.
            api_key=api_key or "not-needed",  # type: ignore[arg-type]
            timeout=timeout,
            max_retries=0,  # a retry would spend the caller's deadline twice
            temperature=0,
        )

    def complete(self, messages: Messages) -> str:
        return "".join(without_thinking([_text(self._llm.invoke(list(messages)).content)]))

    def stream(self, messages: Messages) -> Iterator[str]:
        return without_thinking(_text(c.content) for c in self._llm.stream(list(messages)))


def _text(content: Any) -> str:
    """Message content as text: a string, or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b if isinstance(b, str) else str(b.get("text", ""))
            for b in content
            if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text")
        )
    raise TypeError(f"unexpected message content {type(content).__name__}")


def without_thinking(tokens: Iterable[str]) -> Iterator[str]:
    """The text minus a reasoning model's ``<think>…</think>`` block (Qwen3, DeepSeek-R1).

    Tags may arrive split across tokens, so a possible partial tag is held back until the
    next token decides it.
    """
    buffer, thinking = "", False
    for token in tokens:
        buffer += token
        while True:
            tag = _THINK_CLOSE if thinking else _THINK_OPEN
            at = buffer.find(tag)
            if at >= 0:
                if not thinking and at:
                    yield buffer[:at]
                buffer, thinking = buffer[at + len(tag) :], not thinking
                continue
            held = next((k for k in range(len(tag) - 1, 0, -1) if buffer.endswith(tag[:k])), 0)
            if not thinking and len(buffer) > held:
                yield buffer[: len(buffer) - held]
            buffer = buffer[len(buffer) - held :]
            break
    if buffer and not thinking:
        yield buffer


def within(deadline: float, produce: Callable[[], Iterable[str]]) -> Generator[str, None, None]:
    """The items of ``produce()``, computed in a worker thread, until ``deadline`` (monotonic).

    The HTTP client's timeout bounds each read; this bounds the whole answer, so a server
    that trickles tokens cannot hold a request past its deadline. A worker left behind stops
    at its next item or at its own read timeout.
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in produce():
                if stop.is_set():
                    return
                items.put(("item", item))
            items.put(("end", None))
        except Exception as exc:  # the client raises many types; each means the LLM failed
            items.put(("error", exc))

    threading.Thread(target=work, name="rag-llm", daemon=True).start()
    try:
        while True:
            try:
                kind, value = items.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise LLMError("timeout", "the LLM did not answer in time") from None
            if kind == "end":
                return
            if kind == "error":
                raise describe(value) from value
            yield value
    finally:
        stop.set()


def describe(exc: BaseException) -> LLMError:
    """The :class:`LLMError` for an exception raised by the client."""
    import openai

    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return LLMError("timeout", "the LLM did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return LLMError("unreachable", f"the LLM is unreachable ({_short(exc)})")
    if isinstance(exc, openai.APIStatusError):
        return LLMError("http", f"the LLM answered HTTP {exc.status_code} ({_short(exc)})")
    return LLMError("malformed", f"the LLM's response was malformed ({type(exc).__name__})")


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
