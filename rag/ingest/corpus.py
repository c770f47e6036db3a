"""Load a corpus from files and folders: every supported format, bad files skipped with a reason.

:func:`read_corpus` scans the paths (:mod:`rag.ingest.sources`), loads each file with the
loader for its detected format, and collects the files it could not read with one line each,
so a corrupt PDF costs that PDF and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError, DocumentLoadError
from rag.ingest.documents import Article, content_id
from rag.ingest.formats import SUFFIXES
from rag.ingest.loaders.jsonl import parse_jsonl
from rag.ingest.loaders.text import parse_plain
from rag.ingest.sources import Skipped, SourceFile, load_file, scan, scan_corpus

__all__ = [
    "Corpus",
    "Skipped",
    "SourceFile",
    "content_id",
    "load_corpus",
    "load_file",
    "parse_jsonl",
    "parse_plain",
    "read_corpus",
    "scan",
    "scan_corpus",
    "unique_articles",
]


@dataclass(frozen=True, slots=True)
class Corpus:
    articles: tuple[Article, ...]
    skipped: tuple[Skipped, ...]


def load_corpus(paths: Sequence[Path]) -> list[Article]:
    """Every article under ``paths`` (files or folders), ids unique; bad files are left out."""
    return list(read_corpus(paths).articles)


def read_corpus(paths: Sequence[Path]) -> Corpus:
    """The articles under ``paths`` and the files skipped, with why.

    Fails only when nothing at all can be indexed (the reasons are in the message) or when two
    sources give the same document id (one would silently replace the other).
    """
    if not paths:
        raise CorpusError("no corpus given")
    found = scan_corpus(paths)
    skipped = list(found.skipped)
    loaded: list[Article] = []
    for source in found.files:
        try:
            loaded.extend(load_file(source))
        except DocumentLoadError as exc:
            skipped.append(Skipped(source.path, str(exc)))
    articles = unique_articles(loaded)
    if not any(a.paragraphs for a in articles):
        shown = ", ".join(str(p) for p in paths)
        if skipped:
            raise CorpusError(
                f"corpus is empty: nothing could be loaded from {shown} "
                f"({len(skipped)} skipped; first: {skipped[0]})"
            )
        if not found.files:
            names = ", ".join(sorted(SUFFIXES))
            raise CorpusError(f"no .txt, .md or other supported files ({names}) in {shown}")
        raise CorpusError(f"corpus is empty: no text found in {shown}")
    return Corpus(tuple(articles), tuple(skipped))


def unique_articles(articles: Sequence[Article]) -> list[Article]:
    """``articles`` unchanged; a :class:`CorpusError` when two share an id."""
    seen: dict[str, str] = {}
    for article in articles:
        if article.doc_id in seen:
            raise CorpusError(
                f"duplicate document id {article.doc_id!r} in {seen[article.doc_id]} "
                f"and {article.source}"
            )
        seen[article.doc_id] = article.source
    return list(articles)
