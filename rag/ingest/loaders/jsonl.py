"""JSON lines: one document per line, ``{"id", "title", "text"}`` with ``id`` and ``title``
optional (real exports often have neither)."""

from __future__ import annotations

import json
import re

from rag.errors import DocumentLoadError, InvalidQueryError
from rag.ingest.documents import Article, content_id
from rag.ingest.ids import normalize_doc_id
from rag.ingest.loaders.text import decode_text, parse_plain
from rag.text.chars import STOPS, char_class

TITLE_CHARS = 40
_NOT_STOP = char_class(STOPS, negate=True, also=r"\n")
_FIRST_SENTENCE = re.compile(f"^{_NOT_STOP}*{char_class(STOPS)}?")


class JsonlLoader:
    def load(self, data: bytes, doc_id: str, source: str) -> list[Article]:
        return parse_jsonl(decode_text(data), source)


def parse_jsonl(text: str, source: str) -> list[Article]:
    """One article per record; ``doc_id`` is the given ``id`` verbatim (else from the content).

    A record without a title is titled by its first sentence, which stays in the text.
    """
    articles: list[Article] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DocumentLoadError(f"{where}: invalid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise DocumentLoadError(f"{where}: expected a JSON object with id, title and text")
        body = record.get("text")
        if not isinstance(body, str) or not body.strip():
            raise DocumentLoadError(f'{where}: missing or empty "text"')
        doc_id = record.get("id")
        if doc_id is None:
            doc_id = content_id(str(record.get("title", "")), body)
        elif not isinstance(doc_id, str | int) or not str(doc_id).strip():
            raise DocumentLoadError(f'{where}: "id" must be a non-empty string')
        else:
            try:
                doc_id = normalize_doc_id(str(doc_id))
            except InvalidQueryError as exc:
                raise DocumentLoadError(f"{where}: {exc}") from None
        title = record.get("title")
        if title is not None and not isinstance(title, str):
            raise DocumentLoadError(f'{where}: "title" must be a string')
        if title is None or not title.strip():
            title = title_from_text(body)
        articles.append(parse_plain(body, str(doc_id), where, title=title))
    return articles


def title_from_text(text: str) -> str:
    """A title for an untitled text: its first sentence, cut to ``TITLE_CHARS``."""
    first = _FIRST_SENTENCE.match(text.strip())
    title = first.group(0) if first else text.strip()
    return title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS] + "…"
