"""Tables as text: one line per row, each cell named by its column header when there is one.

"县交通局：二百万元" on its own says less than "来源：县交通局；金额：二百万元", and a reader
quoting the row needs the header in the same paragraph.
"""

from __future__ import annotations

from collections.abc import Sequence

CELL_SEPARATOR = "；"
MAX_HEADER_CHARS = 20


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines; a first row of short, non-empty, distinct cells is the header."""
    cleaned = [[" ".join(cell.split()) for cell in row] for row in rows]
    kept = [row for row in cleaned if any(row)]
    if not kept:
        return []
    header = kept[0]
    has_header = (
        len(kept) > 1
        and len(header) > 1
        and all(0 < len(cell) <= MAX_HEADER_CHARS for cell in header)
        and len(set(header)) == len(header)
    )
    if not has_header:
        return [CELL_SEPARATOR.join(cell for cell in _dedupe(row) if cell) for row in kept]
    lines = []
    for row in kept[1:]:
        named = [
            f"{header[i]}：{cell}" if i < len(header) else cell
            for i, cell in enumerate(row)
            if cell and (i == 0 or cell != row[i - 1])
        ]
        lines.append(CELL_SEPARATOR.join(named))
    return [line for line in lines if line]


def _dedupe(row: list[str]) -> list[str]:
    """Merged cells repeat their text in every grid cell they span: keep one."""
    out: list[str] = []
    for cell in row:
        if not out or cell != out[-1]:
            out.append(cell)
    return out
