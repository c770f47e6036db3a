"""jieba BM25: Chinese text really is split into words, stopwords go, scores rank."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.index.bm25 import BM25Index, BM25Params, idf_table
from rag.text.tokens import tokenize


def test_a_chinese_sentence_yields_many_tokens() -> None:
    tokens = tokenize("兰州高新区目前集聚了多少家生物医药企业？")
    assert len(tokens) > 5
    assert {"兰州", "高新区", "生物医药", "企业"} <= set(tokens)
    assert (
        "了" not in tokens and "多少" not in tokens and "？" not in tokens
    )  # stopwords, punctuation


def test_traditional_and_full_width_normalise_to_the_same_tokens() -> None:
    assert tokenize("蘭州高新區生物醫藥企業") == tokenize("兰州高新区生物医药企业")
    assert tokenize("ＡＩ芯片") == tokenize("AI芯片")


def test_bm25_ranks_the_matching_chunk_first(tmp_path: Path) -> None:
    docs = [tokenize(t) for t in ["光谷瞪羚企业累计达1690家", "兰州高新区集聚生物医药企业", ""]]
    index = BM25Index.build(docs, BM25Params())
    scores = index.scores(tokenize("瞪羚企业有多少家"))
    assert scores.shape == (3,)
    assert int(np.argmax(scores)) == 0
    assert not index.scores(tokenize("完全无关的词语")).any()
    index.save(tmp_path)
    again = BM25Index.load(tmp_path, 3)
    assert np.allclose(again.scores(tokenize("瞪羚")), index.scores(tokenize("瞪羚")))


def test_idf_is_higher_for_rarer_tokens() -> None:
    idf = idf_table([["企业", "光谷"], ["企业"], ["企业", "兰州"]])
    assert idf["光谷"] > idf["企业"]
