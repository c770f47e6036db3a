"""Generative answers through an OpenAI-compatible LLM (issue 5; not implemented yet)."""

from __future__ import annotations

from rag.answer import Answerer
from rag.config import Settings
from rag.errors import RagError


def make_llm_answerer(settings: Settings, fallback: Answerer) -> Answerer:
    raise RagError("LLM answers are not available yet; unset RAG_LLM_BASE_URL")
