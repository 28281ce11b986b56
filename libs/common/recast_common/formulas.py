"""Spreadsheet formula neutralization (opt-in): a cell that starts with =, +, -, @ (or a tab or CR, which some
spreadsheets skip before reading a formula) is prefixed with a single quote, so that a spreadsheet opening the
output shows the text instead of evaluating it (CSV injection, e.g. `=HYPERLINK(...)` or `=cmd|...`).

Off by default: it changes data (a negative number "-5" becomes "'-5"). On with RECAST_NEUTRALIZE_FORMULAS=1 for
every inference, or per request with `?neutralize_formulas=true` (false turns it off for that request).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(cell: str) -> str:
    return "'" + cell if cell.startswith(TRIGGERS) else cell


def neutralize_file(path: Path) -> int:
    """Rewrite the CSV at `path` in place (streaming, bounded memory); returns how many cells changed."""
    changed = 0
    temporary = path.with_name(path.name + ".neutralized")
    csv.field_size_limit(2**31 - 1)
    with path.open(newline="", encoding="utf-8", errors="surrogateescape") as source, \
            temporary.open("w", newline="", encoding="utf-8", errors="surrogateescape") as target:
        writer = csv.writer(target, lineterminator="\n")
        for row in csv.reader(source):
            out = [neutralize_cell(cell) for cell in row]
            changed += sum(a is not b for a, b in zip(out, row, strict=True))
            writer.writerow(out)
    os.replace(temporary, path)
    return changed
