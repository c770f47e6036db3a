"""Train and held-out parts of every question set, fixed before the reader was fitted.

A question is held out when a salted SHA-256 of its set and its *group* falls in the first
40 % of the hash range. The group of a CMRC question is its context, so no held-out context
was read while tuning; the group of a seed question is the question itself (the five seed
pages are shared by both parts). Sets written after the reader (``eval/fresh``, and the
English versions of CMRC held-out questions in ``eval/held_out``) are held out whole; sets
written for fitting (``eval/train/news``: documents and questions made for the reader to be
fitted on) are train whole. The salt and the share never change: changing them would leak
held-out items into what was tuned on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from rag.bench.questions import Question

Split = Literal["train", "held-out"]
HELD_OUT_SHARE = 0.4
SALT = "rag-zh/splits/2026-12-02"
CMRC_ENGLISH = "cmrc-english"  # English versions of CMRC held-out questions (eval/held_out)
ALL_HELD_OUT = ("fresh", CMRC_ENGLISH)
NEWS = "news"  # newspaper-style documents and questions written to fit on (eval/train/news)
ALL_TRAIN = (NEWS,)


def split_of(set_name: str, question: Question) -> Split:
    """Which part ``question`` of the set ``set_name`` belongs to."""
    if set_name in ALL_HELD_OUT:
        return "held-out"
    if set_name in ALL_TRAIN:
        return "train"
    group = question.doc_id if question.type == "cmrc" and question.doc_id else question.id
    digest = hashlib.sha256(f"{SALT}:{set_name}:{group}".encode()).digest()
    return "held-out" if int.from_bytes(digest[:8], "big") < HELD_OUT_SHARE * 2**64 else "train"


def part(set_name: str, questions: Sequence[Question], split: Split) -> list[Question]:
    """The questions of ``split``, in their order."""
    return [q for q in questions if split_of(set_name, q) == split]
