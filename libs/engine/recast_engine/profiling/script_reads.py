"""What a learned program reads from each input column: lookup tables, date formats and numbers.

Only programs without table steps are read this way (their column indices are the input's columns); for
others, and for scripts without a program, drift falls back to comparing the file with the train input.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recast_engine.runtime.cells import _parse_datetime, _parse_number

NUMBER_OPS = ("format_number", "number_range")


@dataclass
class ColumnReads:
    lookup_keys: set[str] | None = None  # the keys of a lookup table applied to the column
    date_formats: list[str] = field(default_factory=list)  # formats a date operation reads it with
    numbers: bool = False  # a number operation reads it

    def reads_date(self, text: str) -> bool:
        return _parse_datetime(text, self.date_formats) is not None

    @staticmethod
    def reads_number(text: str) -> bool:
        return _parse_number(text) is not None


def column_reads(program: dict[str, Any] | None) -> dict[int, ColumnReads]:
    """Input column index -> what the program reads from it; {} when that cannot be told."""
    if not program or program.get("steps"):
        return {}
    reads: dict[int, ColumnReads] = {}
    for column in program.get("columns", []):
        _walk(column.get("value") or {}, reads)
    return reads


def _walk(expr: dict[str, Any], reads: dict[int, ColumnReads]) -> None:
    inputs = expr.get("inputs") or []
    source = inputs[0] if inputs else None
    if source and source.get("op") == "col":
        index = source["args"]["index"]
        args = expr.get("args") or {}
        entry = reads.setdefault(index, ColumnReads())
        if expr["op"] == "lookup" and isinstance(args.get("table"), dict):
            entry.lookup_keys = (entry.lookup_keys or set()) | set(args["table"])
        if isinstance(args.get("formats"), list):
            entry.date_formats += [f for f in args["formats"] if f not in entry.date_formats]
        if expr["op"] in NUMBER_OPS:
            entry.numbers = True
    for child in inputs:
        _walk(child, reads)
