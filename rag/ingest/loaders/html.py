"""HTML: the page's main content (trafilatura), not its menus, sidebars and footers.

trafilatura turns the article into Markdown; headings become sections, list items and table
rows paragraphs of their own. Offsets point into that extracted Markdown text. The bytes go to
trafilatura undecoded, so pages in GBK or Big5 that declare their charset read correctly.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rag.errors import DocumentLoadError
from rag.ingest.documents import Article
from rag.ingest.loaders.text import parse_plain
from rag.ingest.tables import table_lines

# trafilatura's defaults are tuned on English, where 250 characters is a short paragraph; a
# Chinese news item of 60 characters is already content.
MIN_CONTENT_CHARS = 10
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_STRONG = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_EMPHASIS = re.compile(r"(?<![*A-Za-z0-9])\*(?!\s)(.+?)(?<!\s)\*(?![*A-Za-z0-9])")


class HtmlLoader:
    def load(self, data: bytes, doc_id: str, source: str) -> list[Article]:
        import trafilatura

        try:
            text = trafilatura.extract(
                data,
                output_format="markdown",
                include_tables=True,
                include_formatting=True,
                include_comments=False,
                include_links=False,
                include_images=False,
                config=_config(),
            )
        except Exception as exc:  # lxml and trafilatura raise many types on broken markup
            raise DocumentLoadError(f"unreadable HTML ({type(exc).__name__})") from None
        if not text or not text.strip():
            raise DocumentLoadError("no main text found in the HTML page")
        markdown = tidy_markdown(text)
        starts_with_title = markdown.lstrip().startswith("# ")
        title = None if starts_with_title else _page_title(data)
        return [
            parse_plain(
                markdown,
                doc_id,
                source,
                title=title,
                markdown=True,
            )
        ]


def _page_title(data: bytes) -> str | None:
    from trafilatura.metadata import extract_metadata
    from trafilatura.utils import load_html

    try:
        tree = load_html(data)
        title = extract_metadata(tree).title if tree is not None else None
    except Exception:  # the title is a nicety; the text was already extracted
        return None
    return title.strip() or None if title else None


@lru_cache(maxsize=1)
def _config() -> Any:
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(MIN_CONTENT_CHARS))
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # its timeout uses signals (main thread only)
    return config


def tidy_markdown(text: str) -> str:
    """Blocks for :func:`parse_plain`: emphasis marks dropped, each list item and table row
    a paragraph (a table row keeps its column headers)."""
    out: list[str] = []
    table: list[list[str]] = []

    def end_table() -> None:
        if table:
            out.extend(table_lines(table))
            table.clear()

    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("|"):
            if not _TABLE_RULE.match(line):
                table.append([cell.strip() for cell in line.strip("|").split("|")])
            continue
        end_table()
        line = _EMPHASIS.sub(r"\1", _STRONG.sub(lambda m: m.group(1) or m.group(2), line))
        out.append(_LIST_ITEM.sub("", line))
    end_table()
    return "\n\n".join(line for line in out if line)
