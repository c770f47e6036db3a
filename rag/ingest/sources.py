"""The files of a corpus: what a folder holds, each file's content hash and detected format.

:func:`scan` lists the files (for a sync, the hash says whether a file changed since the last
run) and :func:`load_file` turns one of them into articles. Both report a bad file by raising
or listing one line with its reason, so one bad file never stops the rest of the corpus.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError, DocumentLoadError, InvalidQueryError
from rag.ingest.documents import Article
from rag.ingest.formats import SUFFIXES, DocFormat, detect_format, looks_like
from rag.ingest.ids import normalize_doc_id
from rag.ingest.loaders import loader_for

_SIGNATURES = (b"%PDF-", b"\x89PNG", b"\xff\xd8\xff", b"PK\x03\x04")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One loadable file: ``doc_id`` is its path below the scanned folder without suffix,
    ``digest`` the SHA-256 of its bytes (a sync re-reads only files whose digest changed)."""

    path: Path
    doc_id: str
    digest: str
    format: DocFormat
    size: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not indexed; ``message`` is the one line that says which and why."""

    path: Path
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Scan:
    files: tuple[SourceFile, ...]
    skipped: tuple[Skipped, ...]


def scan(paths: Sequence[Path]) -> list[SourceFile]:
    """Every loadable file under ``paths`` (files or folders), in a stable order."""
    return list(scan_corpus(paths).files)


def scan_corpus(paths: Sequence[Path]) -> Scan:
    """Like :func:`scan`, with the files that cannot be loaded and why.

    A missing path is an error (a typo should not silently index nothing); a folder's hidden
    files and folders (``.git``, ``.DS_Store``) are ignored.
    """
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    for root in paths:
        root = Path(root)
        if not root.exists():
            raise CorpusError(f"corpus path not found: {root}")
        for path, doc_id, explicit in _candidates(root):
            try:
                files.append(_source_file(path, doc_id, explicit))
            except DocumentLoadError as exc:
                skipped.append(Skipped(path, f"{path}: {exc}"))
    return Scan(tuple(files), tuple(skipped))


def _candidates(root: Path) -> Iterator[tuple[Path, str, bool]]:
    if not root.is_dir():
        yield root, root.stem, True
        return
    paths = [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]
    ids = [path.relative_to(root).with_suffix("").as_posix() for path in paths]
    taken = Counter(ids)
    for path, doc_id in zip(paths, ids, strict=True):
        # report.pdf beside report.docx: both keep their suffix rather than one replacing the other
        yield path, doc_id if taken[doc_id] == 1 else path.relative_to(root).as_posix(), False


def _source_file(path: Path, doc_id: str, explicit: bool) -> SourceFile:
    known = path.suffix.lower() in SUFFIXES
    try:
        if not known and not explicit:
            # Not a name we read: look at the first bytes only (a folder may hold videos).
            with path.open("rb") as handle:
                head = handle.read(1024)
            if not head.startswith(_SIGNATURES) and b"%PDF-" not in head:
                suffix = path.suffix or "(no suffix)"
                raise DocumentLoadError(f"unsupported file type {suffix} ({looks_like(head)})")
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentLoadError(f"cannot read ({exc.strerror})") from exc
    return SourceFile(
        path=path,
        doc_id=doc_id,
        digest=hashlib.sha256(data).hexdigest(),
        format=detect_format(data, path.name),
        size=len(data),
    )


def load_file(source: SourceFile) -> list[Article]:
    """The articles of one scanned file.

    Raises :class:`DocumentLoadError` with one line, starting with the path (and a JSONL
    record's line number), when the file cannot be read.
    """
    where = str(source.path)
    try:
        data = source.path.read_bytes()
        return _load(data, source.format, source.doc_id, where)
    except OSError as exc:
        raise DocumentLoadError(f"{where}: cannot read ({exc.strerror})") from exc
    except DocumentLoadError as exc:
        if str(exc).startswith(f"{where}:"):
            raise
        raise type(exc)(f"{where}: {exc}") from None


def load_bytes(data: bytes, name: str, doc_id: str, source: str) -> list[Article]:
    """The articles of one file given as bytes (an upload); ``name`` is its file name."""
    return _load(data, detect_format(data, name), doc_id, source)


def _load(data: bytes, fmt: DocFormat, doc_id: str, source: str) -> list[Article]:
    try:
        doc_id = normalize_doc_id(doc_id)  # the form the engine gives ids from the CLI or API
    except InvalidQueryError as exc:
        raise DocumentLoadError(str(exc)) from None
    articles = loader_for(fmt).load(data, doc_id, source)
    if not any(a.paragraphs for a in articles):
        raise DocumentLoadError("no text found")
    return articles
