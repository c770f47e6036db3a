"""Generative answers through any OpenAI-compatible LLM, verified against the sources they cite.

The model sees the retrieved paragraphs as numbered sources and must cite them as ``[n]``;
its answer is checked sentence by sentence (:mod:`rag.answer.llm.verify`) before it becomes the final
answer. Whatever goes wrong on the LLM side — unreachable, timeout, HTTP error, malformed or
empty output, or an answer with no supported sentence — the reader gets the extractive answer
and a warning, never an error.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from rag.answer.llm.client import ChatModel, FailureKind, LLMError, Messages, OpenAIChat, within
from rag.answer.llm.verify import MARKER, Source, Verification, verify
from rag.answer.types import Answer, Answerer, Citation, StreamEvent, abstain, make_citation
from rag.config import Settings
from rag.errors import RagError
from rag.index.store import Store
from rag.ingest.documents import Paragraph
from rag.search.retrieval import Hit
from rag.text.chars import SENTENCE_END, char_class
from rag.text.sentences import split_sentences

Outcome = Literal["answered", "not_found", "unsupported", "error", "no_sources"]

SYSTEM_PROMPT = """你是一个严谨的问答助手，只能依据用户给出的编号资料回答问题。
规则：
1. 只使用资料中的信息，不使用资料以外的知识，不推测。
2. 每个陈述句的句末用方括号标注所依据资料的编号，例如“……[1]。”；依据多条资料时写“……[1][2]。”。只能使用给出的编号。
3. 数字、日期、人名、机构名和地名必须与资料原文一致。
4. 如果资料不能回答问题，只回答“资料中未找到”。
5. 用提问所用的语言回答：中文问题用中文回答，英文问题用英文回答。
6. 回答简洁，不超过五句话。"""

# Longer paragraphs are cut to the sentences around the retrieved chunk, so five sources
# stay well inside the context of a small local model (seed paragraphs are under 300 chars).
MAX_SOURCE_CHARS = 1200
# The text a broken stream delivered, up to its last finished sentence (and its markers).
_LINE_END = char_class(SENTENCE_END, "\n")
_FINISHED = re.compile(rf"(?s).*(?:{_LINE_END}|\.(?=\s))(?:\s*{MARKER.pattern})*", re.I)


@dataclass(frozen=True, slots=True)
class GivenSource:
    """A retrieved paragraph as the model sees it: ``paragraph.text[start:end]``."""

    hit: Hit
    paragraph: Paragraph
    title: str
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.paragraph.text[self.start : self.end]

    @property
    def label(self) -> str:
        return f"《{self.title}》第{self.paragraph.index}段"

    def citation(self, cid: int) -> Citation:
        """The source as listed before the answer is known, quoting the retrieved chunk."""
        offset = self.hit.chunk.offset
        return make_citation(
            cid, self.hit, self.paragraph, offset, offset + len(self.hit.chunk.text)
        )


def given_sources(hits: Sequence[Hit], store: Store, limit: int) -> list[GivenSource]:
    out = []
    for hit in hits[:limit]:
        article = store.article(hit.chunk.doc_id)
        if article is None:
            continue
        paragraph = article.paragraph(hit.chunk.paragraph)
        start, end = _window(paragraph.text, hit.chunk.offset, len(hit.chunk.text))
        out.append(GivenSource(hit, paragraph, article.title, start, end))
    return out


def _window(text: str, offset: int, length: int) -> tuple[int, int]:
    """The whole paragraph, or whole sentences around the chunk up to ``MAX_SOURCE_CHARS``."""
    if len(text) <= MAX_SOURCE_CHARS:
        return 0, len(text)
    start, end = offset, min(offset + length, offset + MAX_SOURCE_CHARS)
    sentences = split_sentences(text)
    before = [s for s in sentences if s[1] <= start][::-1]
    after = [s for s in sentences if s[0] >= end]
    while before or after:
        grew = False
        for side in (before, after):
            if side and max(end, side[0][1]) - min(start, side[0][0]) <= MAX_SOURCE_CHARS:
                s, e = side.pop(0)
                start, end, grew = min(start, s), max(end, e), True
        if not grew:
            break
    return start, end


def prompt(question: str, sources: Sequence[GivenSource]) -> Messages:
    numbered = "\n\n".join(f"[{n}] {s.label}\n{s.text}" for n, s in enumerate(sources, 1))
    return [("system", SYSTEM_PROMPT), ("human", f"资料：\n\n{numbered}\n\n问题：{question}")]


class LLMAnswerer:
    """Answers with ``chat`` and verifies them; ``fallback`` answers whenever that fails."""

    def __init__(
        self, chat: ChatModel, fallback: Answerer, timeout: float, max_sources: int = 5
    ) -> None:
        self.chat = chat
        self.fallback = fallback
        self.timeout = timeout
        self.max_sources = max_sources

    def answer(self, question: str, hits: Sequence[Hit], store: Store) -> Answer:
        sources = given_sources(hits, store, self.max_sources)
        if not sources:
            answer = self.fallback.answer(question, hits, store)
            return self._note(answer, self._details("no_sources"))
        messages = prompt(question, sources)
        deadline = time.monotonic() + self.timeout
        try:
            text = "".join(within(deadline, lambda: [self.chat.complete(messages)]))
            if not text.strip():
                raise LLMError("empty", "the LLM returned an empty answer")
        except LLMError as exc:
            return self._fall_back(question, hits, store, exc)
        return self._verified(question, hits, store, sources, text)

    def stream(self, question: str, hits: Sequence[Hit], store: Store) -> Iterator[StreamEvent]:
        """Sources first, the model's tokens as they come, then the verified answer."""
        sources = given_sources(hits, store, self.max_sources)
        if not sources:
            events = self.fallback.stream(question, hits, store)
            yield from self._noted(events, self._details("no_sources"))
            return
        messages = prompt(question, sources)
        deadline = time.monotonic() + self.timeout
        listed = tuple(s.citation(n) for n, s in enumerate(sources, 1))
        yield StreamEvent("citations", citations=listed)
        parts: list[str] = []
        try:
            with contextlib.closing(within(deadline, lambda: self.chat.stream(messages))) as tokens:
                for token in tokens:
                    if token:
                        parts.append(token)
                        yield StreamEvent("delta", text=token)
            if not "".join(parts).strip():
                raise LLMError("empty", "the LLM returned an empty answer")
        except LLMError as exc:
            if not "".join(parts).strip():
                # Nothing shown yet: the extractive stream takes over as if it had been asked.
                warning = self._warning(exc)
                details = self._details("error", error=exc.kind)
                yield from self._noted(
                    self.fallback.stream(question, hits, store), details, warning
                )
                return
            received = _FINISHED.match("".join(parts))
            broken = (
                f"the LLM stream broke off ({self._reason(exc)}); "
                "only the finished sentences received were verified and kept"
            )
            text = received.group(0) if received else ""
            answer = self._verified(question, hits, store, sources, text, broken, exc.kind)
            yield StreamEvent("done", answer=answer)
            return
        answer = self._verified(question, hits, store, sources, "".join(parts))
        yield StreamEvent("done", answer=answer)

    def _verified(
        self,
        question: str,
        hits: Sequence[Hit],
        store: Store,
        sources: Sequence[GivenSource],
        text: str,
        warning: str | None = None,
        error: FailureKind | None = None,
    ) -> Answer:
        """The model's ``text`` as verified; the abstention or fallback when nothing survives."""
        given = {n: Source(s.text, s.title, s.label) for n, s in enumerate(sources, 1)}
        checked = verify(text, given, question)
        warnings = ((warning,) if warning else ()) + checked.warnings()
        if checked.not_found:
            found_none = abstain(question, hits, store)
            details = self._details("not_found", checked, error)
            return replace(found_none, mode="llm", warnings=warnings, details=details)
        if not checked.supported:
            dropped = checked.count("dropped")
            summary = (
                f"no sentence of the LLM answer was supported by the sources "
                f"({dropped} dropped); extractive answer instead"
            )
            fallback = self.fallback.answer(question, hits, store)
            details = self._details("unsupported", checked, error)
            return self._note(fallback, details, summary, *warnings)
        citations = tuple(
            make_citation(n, src.hit, src.paragraph, src.start + q.start, src.start + q.end)
            for n, q in enumerate(checked.quotes, 1)
            for src in (sources[q.source - 1],)
        )
        return Answer(
            question=question,
            answer=checked.text,
            answered=True,
            mode="llm",
            citations=citations,
            warnings=warnings,
            details=self._details("answered", checked, error),
        )

    def _fall_back(self, question: str, hits: Sequence[Hit], store: Store, exc: LLMError) -> Answer:
        fallback = self.fallback.answer(question, hits, store)
        return self._note(fallback, self._details("error", error=exc.kind), self._warning(exc))

    def _reason(self, exc: LLMError) -> str:
        return f"no answer within {self.timeout:g} s" if exc.kind == "timeout" else str(exc)

    def _warning(self, exc: LLMError) -> str:
        return f"LLM unavailable: {self._reason(exc)}; extractive answer instead"

    def _details(
        self, outcome: Outcome, checked: Verification | None = None, error: str | None = None
    ) -> dict[str, Any]:
        """Diagnostics for the benchmark: what happened, and what verification did."""
        llm: dict[str, Any] = {"model": self.chat.name, "outcome": outcome}
        if error:
            llm["error"] = error
        details: dict[str, Any] = {"llm": llm}
        if checked is not None:
            details["verification"] = checked.counts
        return details

    def _note(self, answer: Answer, details: Mapping[str, Any], *warnings: str) -> Answer:
        """``answer`` with ``warnings`` added and the LLM diagnostics in its details."""
        return replace(
            answer,
            warnings=answer.warnings + warnings,
            details={**answer.details, **details},
        )

    def _noted(
        self,
        events: Iterator[StreamEvent],
        details: Mapping[str, Any],
        *warnings: str,
    ) -> Iterator[StreamEvent]:
        for event in events:
            if event.kind == "done" and event.answer is not None:
                event = replace(event, answer=self._note(event.answer, details, *warnings))
            yield event


def make_llm_answerer(settings: Settings, fallback: Answerer) -> Answerer:
    """The LLM answerer the settings describe (``RAG_LLM_*``), falling back to ``fallback``."""
    if not settings.llm_base_url:
        raise RagError("LLM answers need RAG_LLM_BASE_URL (an OpenAI-compatible server)")
    chat = OpenAIChat(
        base_url=settings.llm_base_url,
        # llama.cpp serves whatever model it loaded; vLLM and Ollama need the served name.
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key,
        timeout=settings.llm_timeout,
    )
    return LLMAnswerer(chat, fallback, settings.llm_timeout)
