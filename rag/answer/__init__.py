"""Answers, the last stage: hits become an :class:`~rag.answer.types.Answer` with citations to
the exact paragraph and quote, from the extractive reader (offline, the default) or from an
OpenAI-compatible LLM whose sentences are verified against the sources they cite."""
