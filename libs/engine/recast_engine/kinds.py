"""What kind of value a cell holds, and whether a table's first row looks like a header.

Shared by the profiler (the profile's header guess) and the planner (which header mode to try first).
"""
from __future__ import annotations

import re
from collections import Counter

Row = list[str]

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+[.,]\d*|\d*[.,]\d+)$")
_DATE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T].*)?$")
_KINDS = ("empty", "integer", "decimal", "date", "text")


def cell_kind(value: str) -> str:
    value = value.strip()
    if not value:
        return "empty"
    if _INTEGER.match(value):
        return "integer"
    if _DECIMAL.match(value):
        return "decimal"
    if _DATE.match(value):
        return "date"
    return "text"


def column_kind(kinds: Counter[str]) -> str:
    filled = {k: n for k, n in kinds.items() if k != "empty"}
    if not filled:
        return "empty"
    if set(filled) <= {"integer"}:
        return "integer"
    if set(filled) <= {"integer", "decimal"}:
        return "decimal"
    kind: str = max(filled, key=lambda k: (filled[k], -_KINDS.index(k)))
    return kind


def looks_like_header(grid: list[Row]) -> bool:
    """A first row of text cells over rows with some non-text column is probably a header."""
    if len(grid) < 2 or not grid[0]:
        return False
    first = [cell_kind(c) for c in grid[0]]
    if any(k in ("integer", "decimal", "date") for k in first):
        return False
    if len(set(grid[0])) != len(grid[0]) or any(not c.strip() for c in grid[0]):
        return False
    body = grid[1:200]
    for j in range(len(grid[0])):
        kinds = Counter(cell_kind(r[j]) for r in body if j < len(r))
        if column_kind(kinds) in ("integer", "decimal", "date"):
            return True
    # all-text tables: a header is short and its cells do not repeat in the body
    body_cells = {c for r in body for c in r}
    return not (set(grid[0]) & body_cells)
