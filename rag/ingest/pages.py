"""Parse a newspaper page (several articles in one plain-text file) into articles.

A page is a sequence of non-blank lines ("blocks"). Each block is classified on its own
(column marker, editor's note, caption, byline, text), then articles are found by their
bylines: the short unpunctuated lines just above a byline are the headline. Columns of short
items (a column name of a few characters set above a headline, such as "图片新闻") may have
items without a byline; there the line after the column name is the headline. The patterns
for bylines, datelines and captions are Chinese print's in general (:mod:`rag.ingest.markers`). Body text broken by layout (a line that stops mid-sentence, sometimes with
a photo caption in between) is rejoined into one paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from rag.ingest.documents import Article, Paragraph, join_lines
from rag.ingest.markers import (
    BYLINE_LINE,
    BYLINE_PREFIX,
    CAPTION_END,
    CAPTION_INNER,
    CAPTION_START,
    COLUMN_NAME,
    COLUMN_NAMES,
    NOTE_START,
)
from rag.text.chars import CLOSERS, COMMAS, ELLIPSIS, HAN, SENTENCE_END, STOPS, char_class

BlockKind = Literal["marker", "note", "caption", "byline", "text"]

MAX_HEADING_CHARS = 40

_TERMINAL_END = re.compile(f"{char_class(SENTENCE_END, ELLIPSIS)}{char_class(CLOSERS)}*$")
_INNER_PUNCT = re.compile(char_class(COMMAS, SENTENCE_END))
_BYLINE_HINTS = re.compile(rf"^(?:◎|本报记者|{BYLINE_PREFIX.pattern.removeprefix('^')})", re.M)
_NAME = f"[{HAN}·]{{2,4}}"
_NAME_LINE = re.compile(rf"^{_NAME}(?:\s+{_NAME}){{0,4}}$")
_TRAILING_NAMES = re.compile(
    rf"(?<={char_class(STOPS, ELLIPSIS, '”」')})\s+({_NAME}(?:\s+{_NAME}){{0,3}})$"
)
_KICKER = re.compile(r"([①-⑳]$|^——|系列报道)")
_PAIRS = (("“", "”"), ("《", "》"), ("（", "）"), ("(", ")"), ("「", "」"))


@dataclass
class Block:
    """One non-blank line of the page, stripped, with its source offset."""

    text: str
    start: int
    kind: BlockKind = "text"
    byline: str | None = None  # inline byline prefix ("本报讯 (特约通讯员 …)")


@dataclass
class _Draft:
    headline: list[int]
    byline: int | None = None
    column: str | None = None
    photo_item: bool = False
    title: str = ""
    kicker: str | None = None
    byline_text: str | None = None
    body: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)  # section, lines
    notes: list[Block] = field(default_factory=list)
    captions: list[Block] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)


def looks_like_page(text: str) -> bool:
    """Whether a plain-text file is a newspaper page (it has newspaper bylines)."""
    return _BYLINE_HINTS.search(text) is not None


def parse_page(text: str, stem: str, source: str) -> list[Article]:
    """Split one page into articles with ids ``{stem}-{n:02d}`` (1-based, in page order)."""
    blocks = _blocks(text)
    drafts = _find_articles(blocks)
    _fill(drafts, blocks)
    _attach_captions(drafts)
    return [_build(d, f"{stem}-{n:02d}", source) for n, d in enumerate(drafts, start=1)]


def _blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            blocks.append(_classify(Block(stripped, pos + line.index(stripped[0]))))
        pos += len(line) + 1
    for i, block in enumerate(blocks):
        if _is_column_name(blocks, i):
            block.kind = "marker"
    return blocks


def _is_column_name(blocks: list[Block], i: int) -> bool:
    """A column name: a few characters alone between the end of one article (or the top of
    the page) and the next headline."""
    block = blocks[i]
    if block.kind != "text":
        return False
    if block.text in COLUMN_NAMES:
        return True
    if not COLUMN_NAME.match(block.text) or i + 1 >= len(blocks):
        return False
    after_article = i == 0 or blocks[i - 1].kind != "text" or ends_sentence(blocks[i - 1].text)
    return after_article and _heading_like(blocks[i + 1])


def _classify(block: Block) -> Block:
    t = block.text
    if NOTE_START.match(t):
        block.kind = "note"
    elif CAPTION_START.match(t) or CAPTION_END.search(t) or CAPTION_INNER.search(t):
        block.kind = "caption"
    elif BYLINE_LINE.match(t) and not _INNER_PUNCT.search(t) and len(t) <= MAX_HEADING_CHARS:
        block.kind = "byline"
    elif m := BYLINE_PREFIX.match(t):
        block.kind = "byline"
        block.byline = m.group(0).strip()
    return block


def ends_sentence(text: str) -> bool:
    return _TERMINAL_END.search(text) is not None


def _balanced(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in _PAIRS)


def is_fragment(text: str) -> bool:
    """A body line that stops mid-sentence (layout broke the paragraph)."""
    if ends_sentence(text):
        return False
    return bool(_INNER_PUNCT.search(text)) or not _balanced(text) or len(text) > MAX_HEADING_CHARS


def _heading_like(block: Block) -> bool:
    t = block.text
    return (
        block.kind == "text"
        and len(t) <= MAX_HEADING_CHARS
        and not ends_sentence(t)
        and not is_fragment(t)
    )


def _is_photo_item(block: Block) -> bool:
    """A caption carrying a whole short news item ("近期,… 图为… 摄")."""
    m = CAPTION_INNER.search(block.text)
    return block.kind == "caption" and m is not None and m.start() >= 40


def _find_articles(blocks: list[Block]) -> list[_Draft]:
    claimed: set[int] = set()
    drafts: list[_Draft] = []

    def headline_above(i: int) -> list[int]:
        run: list[int] = []
        j = i - 1
        while (
            j >= 0
            and j not in claimed
            and (_heading_like(blocks[j]) or blocks[j].kind == "caption")
        ):
            if blocks[j].kind == "text":
                run.append(j)
            j -= 1
        return sorted(run)

    for i, b in enumerate(blocks):
        name_byline = (
            b.kind == "text"
            and _NAME_LINE.match(b.text) is not None
            and i + 1 < len(blocks)
            and blocks[i + 1].kind == "text"
            and not _heading_like(blocks[i + 1])
        )
        if b.kind != "byline" and not name_byline:
            continue
        run = headline_above(i)
        if run:
            drafts.append(_Draft(headline=run, byline=i))
            claimed.update(run)
            claimed.add(i)

    # Items without a byline: the first line of a page or the line after a column marker.
    for i, b in enumerate(blocks):
        after_marker = i > 0 and blocks[i - 1].kind == "marker"
        at_top = all(blocks[k].kind in ("note", "caption") for k in range(i))
        if (after_marker or at_top) and i not in claimed and _heading_like(b):
            run = [i]
            while run[-1] + 1 < len(blocks) and _heading_like(blocks[run[-1] + 1]):
                run.append(run[-1] + 1)
            drafts.append(_Draft(headline=run))
            claimed.update(run)

    drafts.sort(key=lambda d: d.headline[0])
    # Photo news items that stand alone between articles become articles of their own.
    for i, b in enumerate(blocks):
        if not _is_photo_item(b):
            continue
        owner = [d for d in drafts if d.headline[0] < i]
        prev = i - 1
        while prev >= 0 and blocks[prev].kind == "caption":
            prev -= 1
        owner_is_empty = bool(owner) and prev in (owner[-1].headline[-1], owner[-1].byline)
        if not owner_is_empty:
            drafts.append(_Draft(headline=[i], photo_item=True))
    drafts.sort(key=lambda d: d.headline[0])
    if not drafts and blocks:
        drafts.append(_Draft(headline=[0]))
    return drafts


def _fill(drafts: list[_Draft], blocks: list[Block]) -> None:
    bounds = [d.headline[0] for d in drafts] + [len(blocks)]
    column: str | None = None
    pending_notes: list[Block] = []
    for n, draft in enumerate(drafts):
        lo, hi = bounds[n], bounds[n + 1]
        if n == 0:
            lo = 0  # anything above the first headline (an editor's note) belongs to it
        draft.column = column
        draft.notes.extend(pending_notes)
        pending_notes = []
        _headline(draft, blocks)
        if draft.photo_item:
            draft.captions.append(blocks[draft.headline[0]])
        section: str | None = None
        lines: list[tuple[str, int]] = []
        skip = set(draft.headline)
        if draft.byline is not None and not blocks[draft.byline].byline:
            skip.add(draft.byline)  # an inline byline ("本报讯 …") still carries body text
        body_idx = [i for i in range(lo, hi) if i not in skip]
        for pos, i in enumerate(body_idx):
            b = blocks[i]
            if b.kind == "marker":
                column = b.text
                if i < draft.headline[0]:  # a column name above the page's first headline
                    draft.column = column
                elif n + 1 < len(drafts):
                    drafts[n + 1].column = column
                continue
            if b.kind == "note":
                (draft.notes if i < draft.headline[0] else pending_notes).append(b)
                continue
            if b.kind == "caption":
                draft.captions.append(b)
                continue
            text, start = b.text, b.start
            if b.kind == "byline" and b.byline:
                if draft.byline_text is None:
                    draft.byline_text = b.byline
                text = text[len(b.byline) :].lstrip()
                start = b.start + b.text.index(text) if text else b.start
                if not text:
                    continue
            elif b.kind == "byline":
                draft.byline_text = draft.byline_text or b.text
                continue
            if lines:  # continuing a paragraph that layout broke
                lines.append((text, start))
            elif _heading_like(b) and _next_is_body(blocks, body_idx[pos + 1 :]):
                section = text
                draft.sections.append(text)
                continue
            else:
                lines = [(text, start)]
            if not is_fragment(lines[-1][0]):
                draft.body.append((section or "", lines))
                lines = []
        if lines:
            draft.body.append((section or "", lines))
        _trailing_names(draft)


def _next_is_body(blocks: list[Block], rest: list[int]) -> bool:
    for i in rest:
        if blocks[i].kind == "caption":
            continue
        return blocks[i].kind == "text" and not _heading_like(blocks[i])
    return False


def _headline(draft: _Draft, blocks: list[Block]) -> None:
    if draft.photo_item:
        text = blocks[draft.headline[0]].text
        first = re.split(char_class(STOPS), text, maxsplit=1)[0]
        draft.title = first if len(first) <= MAX_HEADING_CHARS else first[:MAX_HEADING_CHARS] + "…"
        return
    title = ""
    for i in draft.headline:
        t = blocks[i].text
        if _KICKER.search(t) and title:
            draft.kicker = t.lstrip("—").strip()
            continue
        title += ("" if not title or title[-1] in ":：" else " ") + t
    draft.title = title
    if draft.byline is not None:
        b = blocks[draft.byline]
        draft.byline_text = b.byline or b.text


def _trailing_names(draft: _Draft) -> None:
    """Move authors' names printed after a paragraph's last sentence into the byline."""
    for k, (section, lines) in enumerate(draft.body):
        text, start = lines[-1]
        m = _TRAILING_NAMES.search(text)
        if not m:
            continue
        names = m.group(1)
        draft.byline_text = f"{draft.byline_text} {names}" if draft.byline_text else names
        lines = [*lines[:-1], (text[: m.start()], start)]
        draft.body[k] = (section, lines)


def _bigrams(text: str) -> set[str]:
    han = re.sub(f"[^{HAN}]", "", text)
    return {han[i : i + 2] for i in range(len(han) - 1)}


def _attach_captions(drafts: list[_Draft]) -> None:
    """Give each caption to the article it talks about; by default the one it sits in.

    Pages often print a photo far from its story (e.g. at the foot of the page), so a caption
    moves when another article on the page shares clearly more of its words.
    """
    vocab = [_bigrams(d.title + "".join(t for _, ls in d.body for t, _ in ls)) for d in drafts]
    moves: list[tuple[Block, int, int]] = []
    for n, d in enumerate(drafts):
        for cap in d.captions:
            if d.photo_item and cap is d.captions[0]:
                continue
            grams = _bigrams(cap.text)
            if not grams:
                continue
            scores = [len(grams & v) / len(grams) for v in vocab]
            best = max(range(len(drafts)), key=lambda k: scores[k])
            if best != n and scores[best] >= scores[n] + 0.2:
                moves.append((cap, n, best))
    for cap, src, dst in moves:
        drafts[src].captions.remove(cap)
        drafts[dst].captions.append(cap)


def _build(draft: _Draft, doc_id: str, source: str) -> Article:
    paragraphs: list[Paragraph] = []

    def add(lines: list[tuple[str, int]], kind: str, section: str | None) -> None:
        text, pieces = join_lines(lines)
        paragraphs.append(
            Paragraph(doc_id, len(paragraphs) + 1, text, pieces, kind, section or None)  # type: ignore[arg-type]
        )

    for section, lines in draft.body:
        add(lines, "body", section)
    for note in draft.notes:
        add([(note.text, note.start)], "note", None)
    for cap in sorted(draft.captions, key=lambda b: b.start):
        add([(cap.text, cap.start)], "caption", None)
    return Article(
        doc_id=doc_id,
        title=draft.title,
        paragraphs=tuple(paragraphs),
        source=source,
        byline=draft.byline_text,
        kicker=draft.kicker,
        column=draft.column,
        sections=tuple(draft.sections),
    )
