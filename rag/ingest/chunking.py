"""Paragraph-aware chunks: sentences packed up to a size, never crossing a paragraph."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from rag.ingest.documents import Article, Paragraph
from rag.text.sentences import split_clauses, split_sentences


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable piece of one paragraph.

    ``offset`` is where the chunk starts in the paragraph text; ``start``/``end`` are offsets
    in the source document.
    """

    chunk_id: str
    doc_id: str
    title: str
    section: str | None
    paragraph: int
    kind: str
    text: str
    offset: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ChunkParams:
    """Chunking parameters, recorded in the index manifest."""

    size: int = 200
    overlap: int = 1  # sentences repeated from the end of the previous chunk


def _units(text: str, size: int) -> list[tuple[int, int]]:
    """Sentences, with sentences longer than ``size`` cut at clauses, then hard-cut."""
    units: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        if e - s <= size:
            units.append((s, e))
            continue
        for cs, ce in split_clauses(text, s, e):
            units.extend((p, min(p + size, ce)) for p in range(cs, ce, size))
    return units


def chunk_paragraph(paragraph: Paragraph, title: str, params: ChunkParams) -> list[Chunk]:
    text = paragraph.text
    units = _units(text, params.size)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j][1] - units[i][0] <= params.size:
            j += 1
        s, e = units[i][0], units[j - 1][1]
        chunks.append(_make_chunk(paragraph, title, s, e))
        if j >= len(units):
            break
        # Start the next chunk ``overlap`` units back, but always move forward.
        i = max(j - params.overlap, i + 1)
    return chunks


def _make_chunk(paragraph: Paragraph, title: str, s: int, e: int) -> Chunk:
    text = paragraph.text[s:e]
    src_start, src_end = paragraph.source_span(s, e)
    key = f"{paragraph.doc_id}\x1f{paragraph.index}\x1f{s}\x1f{text}"
    return Chunk(
        chunk_id=hashlib.sha1(key.encode()).hexdigest()[:16],
        doc_id=paragraph.doc_id,
        title=title,
        section=paragraph.section,
        paragraph=paragraph.index,
        kind=paragraph.kind,
        text=text,
        offset=s,
        start=src_start,
        end=src_end,
    )


def chunk_articles(articles: Iterable[Article], params: ChunkParams) -> list[Chunk]:
    return [
        chunk
        for article in articles
        for paragraph in article.paragraphs
        for chunk in chunk_paragraph(paragraph, article.title, params)
    ]


def embedding_text(chunk: Chunk) -> str:
    """What the embedder sees: the chunk with its article title for context."""
    return f"{chunk.title}\n{chunk.text}"
