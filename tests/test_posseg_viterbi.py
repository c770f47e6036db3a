"""The array Viterbi decoder gives jieba's part-of-speech tags exactly."""

from __future__ import annotations

import re

import jieba.posseg as posseg
from jieba.posseg.viterbi import viterbi as jieba_viterbi

from rag.answer.reader.answer_spans import tagged_words
from rag.ingest.corpus import load_corpus
from rag.text.posseg_viterbi import FastViterbi
from tests.conftest import SEEDS

TABLES = (posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P)


def test_same_route_and_score_as_jieba_on_the_seed_pages() -> None:
    fast = FastViterbi(*TABLES)
    # jieba decodes the runs its dictionary does not know, a few characters long: every
    # seventh piece of the runs of Han characters of the seed pages, cut up to 8 long
    pieces = {
        run[i : i + 8]
        for article in load_corpus([SEEDS])
        for p in article.paragraphs
        for run in re.findall(r"[\u4e00-\u9fff]+", p.text)
        for i in range(0, len(run), 8)
    }
    runs = set(sorted(pieces)[::7])
    runs |= {"林", "𠀀𠀁", "龘龘龘", "张三李四王五"}  # one character, characters jieba lacks
    assert len(runs) > 500, len(runs)
    for run in sorted(runs):
        assert fast(run, *TABLES) == jieba_viterbi(run, *TABLES), run


def test_the_reader_tags_with_it() -> None:
    assert isinstance(posseg.viterbi, FastViterbi) or tagged_words("林思远介绍")
    tagged_words.cache_clear()
    words = tagged_words("江东新材料研究中心副院长林思远介绍")
    assert isinstance(posseg.viterbi, FastViterbi)
    assert "".join(w for w, _, _ in words) == "江东新材料研究中心副院长林思远介绍"
