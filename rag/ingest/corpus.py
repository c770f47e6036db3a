"""Load a corpus from files: newspaper pages, plain ``.txt``/``.md`` documents, JSONL records."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError, InvalidQueryError
from rag.ingest.documents import Article, Paragraph, cjk_joiner, join_lines
from rag.ingest.ids import normalize_doc_id
from rag.ingest.pages import looks_like_page, parse_page
from rag.text.chars import CLAUSE_END, ELLIPSIS, SENTENCE_END

TEXT_SUFFIXES = (".txt", ".md")
_BLANK_LINE = re.compile(r"\n[ \t\u3000\r]*\n")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A loadable file of a corpus: ``doc_id`` is the id its documents derive from, ``digest``
    the hash of its bytes (a sync re-reads only files whose digest changed)."""

    path: Path
    doc_id: str
    digest: str


def scan(paths: Sequence[Path]) -> list[SourceFile]:
    """Every loadable file under ``paths`` (files or directories), in a stable order."""
    if not paths:
        raise CorpusError("no corpus given")
    out: list[SourceFile] = []
    for path in map(Path, paths):
        if not path.exists():
            raise CorpusError(f"corpus path not found: {path}")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _loadable(p))
            if not files:
                raise CorpusError(f"no .txt, .md or .jsonl files in {path}")
            out.extend(
                SourceFile(f, f.relative_to(path).with_suffix("").as_posix(), _digest(f))
                for f in files
            )
        elif _loadable(path):
            out.append(SourceFile(path, path.stem, _digest(path)))
        else:
            raise CorpusError(f"{path}: unsupported file type (expected .txt, .md or .jsonl)")
    return out


def load_file(source: SourceFile) -> list[Article]:
    """The articles of one file; a :class:`CorpusError` names the file and what is wrong."""
    path = source.path
    text = read_text(path)
    if path.suffix.lower() == ".jsonl":
        return list(parse_jsonl(text, str(path)))
    doc_id = _corpus_id(source.doc_id, str(path))
    if path.suffix.lower() == ".txt" and looks_like_page(text):
        return list(parse_page(text, doc_id, str(path)))
    if text.strip():
        return [parse_plain(text, doc_id, str(path), markdown=path.suffix.lower() == ".md")]
    return []


def load_corpus(paths: Sequence[Path]) -> list[Article]:
    """Every article under ``paths`` (files, directories or ``.jsonl``), ids unique."""
    articles = unique_articles([a for f in scan(paths) for a in load_file(f)])
    if not any(a.paragraphs for a in articles):
        shown = ", ".join(str(p) for p in paths)
        raise CorpusError(f"corpus is empty: no text found in {shown}")
    return articles


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


def _loadable(path: Path) -> bool:
    return path.suffix.lower() in (*TEXT_SUFFIXES, ".jsonl")


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})") from exc


def read_text(path: Path) -> str:
    """The file as text; a clear error for binary or non-UTF-8 content."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})") from exc
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{path}: binary file, not UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc


def parse_jsonl(text: str, source: str) -> Iterable[Article]:
    """Records ``{"id", "title", "text"}``; ``doc_id`` is the given ``id`` verbatim."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{where}: invalid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise CorpusError(f"{where}: expected a JSON object with id, title and text")
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            raise CorpusError(f'{where}: missing or empty "text"')
        doc_id = record.get("id")
        if doc_id is None:
            doc_id = content_id(str(record.get("title", "")), body)
        elif not isinstance(doc_id, str | int) or not str(doc_id).strip():
            raise CorpusError(f'{where}: "id" must be a non-empty string')
        else:
            doc_id = _corpus_id(str(doc_id), where)
        title = record.get("title")
        if title is not None and not isinstance(title, str):
            raise CorpusError(f'{where}: "title" must be a string')
        yield parse_plain(body, str(doc_id), f"{where}", title=title)


def _corpus_id(raw: str, where: str) -> str:
    """A file's or record's id in normal form (as the engine gives ids from the CLI or API)."""
    try:
        return normalize_doc_id(raw)
    except InvalidQueryError as exc:
        raise CorpusError(f"{where}: {exc}") from None


def content_id(title: str, text: str) -> str:
    """Id for a document given without one: stable for the same title and text."""
    return "doc-" + hashlib.sha1(f"{title}\x1f{text}".encode()).hexdigest()[:12]


def parse_plain(
    text: str, doc_id: str, source: str, *, title: str | None = None, markdown: bool = False
) -> Article:
    """A plain document: paragraphs split on blank lines (on line breaks if there are none).

    Offsets refer to ``text``. Without a ``title``, a first line that looks like a heading (a
    Markdown ``#`` heading, or a short line without final punctuation) becomes the title.
    """
    blocks = _plain_blocks(text)
    sections: list[str] = []
    section: str | None = None
    paragraphs: list[Paragraph] = []
    for k, lines in enumerate(blocks):
        first = lines[0][0]
        heading = _MD_HEADING.match(first) if markdown and len(lines) == 1 else None
        if heading:
            if title is None and k == 0 and heading.group(1) == "#":
                title = heading.group(2)
            else:
                section = heading.group(2)
                sections.append(section)
            continue
        if (
            title is None
            and k == 0
            and len(lines) == 1
            and _looks_like_title(first)
            and len(blocks) > 1
        ):
            title = first
            continue
        body, pieces = join_lines(lines, cjk_joiner)
        paragraphs.append(Paragraph(doc_id, len(paragraphs) + 1, body, pieces, "body", section))
    return Article(
        doc_id=doc_id,
        title=title if title is not None else doc_id,
        paragraphs=tuple(paragraphs),
        source=source,
        sections=tuple(sections),
    )


def _looks_like_title(line: str) -> bool:
    return len(line) <= 60 and line[-1] not in SENTENCE_END + ELLIPSIS + CLAUSE_END


def _plain_blocks(text: str) -> list[list[tuple[str, int]]]:
    """Paragraphs as lists of ``(stripped line, offset)``."""
    split_on_blank = _BLANK_LINE.search(text) is not None
    blocks: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            current.append((stripped, pos + raw.index(stripped[0])))
        if (not stripped or not split_on_blank) and current:
            blocks.append(current)
            current = []
        pos += len(raw) + 1
    if current:
        blocks.append(current)
    return blocks
