"""What the Milvus store keeps, field by field, and how articles and chunks become rows.

Two collections per store (``name`` is ``RAG_MILVUS_COLLECTION``):

``<name>``           one row per chunk: the chunk's fields, its dense vector, the text BM25 reads
                     (``lexical``, analysed by Milvus with jieba into the ``sparse`` field by a
                     BM25 ``Function``) and our own jieba tokens (``terms``, for document
                     frequencies).
``<name>_terms``     the document frequency of each of our tokens, for :meth:`idf` (one keyed
                     read per question instead of one count per token).
``<name>_records``   the articles the citations open, as JSON split into parts of at most
                     ``PART_CHARS`` characters (a VARCHAR holds 65,535 bytes), plus one ``meta``
                     row: the format, the settings the store was built with (what
                     ``IndexParams.check`` compares), the write version and the paragraph
                     count.

Milvus requires a vector field in every collection, so records and terms carry a constant
2-d one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rag.index.store import IndexedDocument
from rag.ingest.chunking import Chunk
from rag.ingest.documents import Article, Paragraph, Piece
from rag.text.normalize import normalize

MAX_VARCHAR = 65_535  # bytes, Milvus's bound for one VARCHAR value
# ASCII-only JSON (CJK as \uXXXX) is one byte per character, so a part never exceeds the bound.
PART_CHARS = 60_000
MAX_ID = 1_024
RECORD_VECTOR = [1.0, 0.0]
META_ID = "\x00meta"
LEXICAL_ANALYZER = {"tokenizer": "jieba"}

CHUNK_FIELDS = [
    "chunk_id",
    "seq",
    "doc_id",
    "paragraph",
    "kind",
    "section",
    "title",
    "text",
    "off",
    "src_start",
    "src_end",
]


def chunk_schema(client: Any, dim: int) -> Any:
    from pymilvus import DataType, Function, FunctionType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=64)
    s.add_field("seq", DataType.INT64)
    s.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID)
    s.add_field("paragraph", DataType.INT64)
    s.add_field("kind", DataType.VARCHAR, max_length=64)
    s.add_field("section", DataType.VARCHAR, max_length=MAX_VARCHAR, nullable=True)
    s.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("off", DataType.INT64)
    s.add_field("src_start", DataType.INT64)
    s.add_field("src_end", DataType.INT64)
    s.add_field(
        "lexical",
        DataType.VARCHAR,
        max_length=MAX_VARCHAR,
        enable_analyzer=True,
        analyzer_params=LEXICAL_ANALYZER,
    )
    s.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(
        Function(
            name="lexical_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["lexical"],
            output_field_names=["sparse"],
        )
    )
    return s


def chunk_index(client: Any, k1: float, b: float) -> Any:
    params = client.prepare_index_params()
    params.add_index("dense", index_type="AUTOINDEX", metric_type="IP")
    params.add_index(
        "sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params={"bm25_k1": k1, "bm25_b": b},
    )
    return params


def record_schema(client: Any) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("rid", DataType.VARCHAR, is_primary=True, max_length=MAX_ID + 16)
    s.add_field("doc_id", DataType.VARCHAR, max_length=MAX_ID)
    s.add_field("part", DataType.INT64)
    s.add_field("seq", DataType.INT64)
    s.add_field("paragraphs", DataType.INT64)
    s.add_field("origin", DataType.VARCHAR, max_length=4_096)
    s.add_field("digest", DataType.VARCHAR, max_length=256)
    s.add_field("body", DataType.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=len(RECORD_VECTOR))
    return s


def term_schema(client: Any) -> Any:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("term", DataType.VARCHAR, is_primary=True, max_length=MAX_VARCHAR)
    s.add_field("df", DataType.INT64)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=len(RECORD_VECTOR))
    return s


def constant_index(client: Any) -> Any:
    """The index Milvus needs on the constant vector before a collection can be loaded."""
    params = client.prepare_index_params()
    params.add_index("vec", index_type="AUTOINDEX", metric_type="IP")
    return params


def chunk_rows(doc: IndexedDocument, seq: int) -> list[dict[str, Any]]:
    """One row per chunk; ``seq`` + position orders them as the local store's keys do."""
    rows = []
    for i, (chunk, tokens, vector) in enumerate(
        zip(doc.chunks, doc.tokens, doc.vectors, strict=True)
    ):
        lexical = normalize(f"{chunk.title} {chunk.section or ''} {chunk.text}")
        rows.append(
            {
                "chunk_id": chunk.chunk_id,
                "seq": seq + i,
                "doc_id": chunk.doc_id,
                "paragraph": chunk.paragraph,
                "kind": chunk.kind,
                "section": chunk.section,
                "title": chunk.title,
                "text": chunk.text,
                "off": chunk.offset,
                "src_start": chunk.start,
                "src_end": chunk.end,
                "lexical": _clip(lexical),
                "terms": json.dumps(list(tokens), ensure_ascii=False),
                "dense": [float(x) for x in vector],
            }
        )
    return rows


def to_chunk(row: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        title=row["title"],
        section=row.get("section"),
        paragraph=int(row["paragraph"]),
        kind=row["kind"],
        text=row["text"],
        offset=int(row["off"]),
        start=int(row["src_start"]),
        end=int(row["src_end"]),
    )


def record_rows(doc: IndexedDocument, seq: int) -> list[dict[str, Any]]:
    """The article as JSON parts; part 0 also carries what a listing or a sync reads."""
    a = doc.article
    body = json.dumps(
        {
            "title": a.title,
            "source": a.source,
            "byline": a.byline,
            "kicker": a.kicker,
            "column": a.column,
            "sections": list(a.sections),
            "paragraphs": [_paragraph(p) for p in a.paragraphs],
        },
        ensure_ascii=True,
    )
    parts = [body[i : i + PART_CHARS] for i in range(0, len(body), PART_CHARS)]
    return [
        {
            "rid": record_id(a.doc_id, n),
            "doc_id": a.doc_id,
            "part": n,
            "seq": seq,
            "paragraphs": len(a.paragraphs),
            "origin": doc.origin,
            "digest": doc.digest,
            "body": text,
            "vec": RECORD_VECTOR,
        }
        for n, text in enumerate(parts)
    ]


def _paragraph(p: Paragraph) -> list[Any]:
    pieces = [[x.offset, x.start, x.end] for x in p.pieces]
    return [p.index, p.text, pieces, p.kind, p.section, p.page]


def record_id(doc_id: str, part: int) -> str:
    return f"{doc_id}\x1f{part}"


def to_article(doc_id: str, rows: Iterable[dict[str, Any]]) -> Article:
    data = json.loads("".join(r["body"] for r in sorted(rows, key=lambda r: r["part"])))
    return Article(
        doc_id=doc_id,
        title=data["title"],
        source=data["source"],
        byline=data["byline"],
        kicker=data["kicker"],
        column=data["column"],
        sections=tuple(data["sections"]),
        paragraphs=tuple(
            Paragraph(
                doc_id=doc_id,
                index=idx,
                text=text,
                pieces=tuple(Piece(*p) for p in pieces),
                kind=kind,
                section=section,
                page=page,
            )
            for idx, text, pieces, kind, section, page in data["paragraphs"]
        ),
    )


def literal(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def in_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]"


def _clip(text: str) -> str:
    """At most ``MAX_VARCHAR`` UTF-8 bytes (only a pathological title gets this long)."""
    data = text.encode()
    if len(data) <= MAX_VARCHAR:
        return text
    return data[:MAX_VARCHAR].decode(errors="ignore")
