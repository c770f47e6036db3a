"""Document ids have one normal form, wherever they come from; text must be Unicode and visible."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from rag.errors import CorpusError, InvalidQueryError
from rag.ingest.corpus import load_corpus
from rag.ingest.ids import normalize_doc_id
from rag.text.unicode import has_visible_text, lone_surrogate

NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (NFD, NFC),
        (NFC, NFC),
        ("报告\u200b2024", "报告2024"),  # zero-width space
        ("\ufeffnotes/1", "notes/1"),  # byte-order mark
        ("\u202eabc\u202c", "abc"),  # bidi override and pop
        ("\u2066id\u2069", "id"),  # bidi isolate
        ("  notes/一  ", "notes/一"),
        ("\u3000标题\u3000", "标题"),  # ideographic space
        ("a b", "a b"),  # inner spaces are part of the id
        ("ＡＢＣ", "ＡＢＣ"),  # NFC, not NFKC: full-width letters stay what they are
    ],
)
def test_ids_take_one_normal_form(raw: str, expected: str) -> None:
    assert normalize_doc_id(raw) == expected
    assert normalize_doc_id(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "blank"),
        ("   ", "blank"),
        ("\u200b", "blank"),
        ("\u202e", "blank"),
        ("\u200b\u200c\u200d\ufeff", "blank"),
        ("\ud800", "not valid Unicode"),
        ("ok\udfffok", "not valid Unicode"),
        ("a\x00b", "control characters"),
        ("a\nb", "control characters"),
        ("\x7f", "control characters"),
        ("x" * 257, "too long"),
    ],
)
def test_ids_that_cannot_be_typed_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidQueryError, match=reason):
        normalize_doc_id(raw)


def test_visible_text_and_surrogates() -> None:
    assert has_visible_text("正文") and has_visible_text(" a ")
    assert not has_visible_text("\x01\x02\x03")
    assert not has_visible_text("\u200b\u200b \u3000\n\t")
    assert not has_visible_text("")
    assert lone_surrogate("ab\ud800") == 2 and lone_surrogate("正文😀") is None


def test_corpus_ids_are_normalised_like_the_engine_s(tmp_path: Path) -> None:
    records = [
        {"id": NFD, "title": "t", "text": "正文一。"},
        {"id": "\u200bnotes/2", "title": "t", "text": "正文二。"},
    ]
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    assert [a.doc_id for a in load_corpus([corpus])] == [NFC, "notes/2"]


def test_a_corpus_with_the_same_id_in_two_forms_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": NFC, "text": "正文一。"})
        + "\n"
        + json.dumps({"id": NFD, "text": "二。"}),
        encoding="utf-8",
    )
    with pytest.raises(CorpusError, match="duplicate document id"):
        load_corpus([tmp_path / "a.jsonl"])


def test_a_corpus_record_with_an_invisible_id_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "\u200b", "text": "正文。"}), "utf-8")
    with pytest.raises(CorpusError, match=r"a\.jsonl:1: document id is blank"):
        load_corpus([tmp_path / "a.jsonl"])
