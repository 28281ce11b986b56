"""What a learned script could not convert, as the inference result carries it: the one definition of its shape.

A script prints its summary as one JSON line on stderr, `{"recast_warnings": {...}}` (recast_engine.runtime.guards);
`read_summary` finds it, `merge_warnings` adds up the summaries of chunks of one input (the one place that does),
`describe_warnings` says them in words (the run's error in strict mode).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

from recast_engine.runtime.guards import FIRST_ROWS, SUMMARY_KEY, SUMMARY_VERSION

WarningKind = Literal["unknown_key", "unparsed_date", "unparsed_number", "wrong_width", "header_mismatch"]

_KIND_WORDS = {
    "unknown_key": "a lookup key not seen in training (the default was written)",
    "unparsed_date": "a value not read as a date in the learned format (written empty)",
    "unparsed_number": "a value not read as a number (written empty)",
    "wrong_width": "another number of cells than the train input's rows",
    "header_mismatch": "a header row unlike the train input's",
}


class WarningExample(BaseModel):
    row: int  # output row number (1: the header row when there is one); input row for the row kinds
    value: str  # the input value (a lookup's key, an operator's inputs joined by ", "), cut to 60 characters


class ConversionWarning(BaseModel):
    kind: WarningKind
    column: int | None = None  # output column, from 1; None for wrong_width and header_mismatch
    column_name: str | None = None  # its header, when the output has one
    count: int  # rows (or cells of that column) concerned
    examples: list[WarningExample] = Field(default_factory=list)  # the first rows, at most 3

    def describe(self) -> str:
        where = "" if self.column is None else f"column {self.column}"
        if where and self.column_name:
            where += f" ({self.column_name})"
        shown = ", ".join(f"row {e.row}: {e.value!r}" for e in self.examples)
        text = f"{_KIND_WORDS[self.kind]} in {self.count} row{'' if self.count == 1 else 's'}"
        return (f"{where}: " if where else "") + text + (f", e.g. {shown}" if shown else "")


class ConversionWarnings(BaseModel):
    version: int = SUMMARY_VERSION
    warnings: list[ConversionWarning] = Field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(w.count for w in self.warnings)


def read_summary(stderr: str) -> ConversionWarnings | None:
    """The summary line a script printed on stderr (its last one), or None (a script from before the guards, or
    one that stopped before the end)."""
    for line in reversed(stderr.splitlines()):
        line = line.strip()
        if line.startswith("{") and SUMMARY_KEY in line:
            try:
                return ConversionWarnings.model_validate(json.loads(line)[SUMMARY_KEY])
            except (ValueError, KeyError, TypeError):
                return None
    return None


ROW_KINDS = frozenset({"wrong_width", "header_mismatch"})  # numbered by input row, the others by output row


def merge_warnings(parts: Iterable[tuple[ConversionWarnings, int, int]]) -> ConversionWarnings:
    """The summary of one input converted in chunks: (a chunk's summary, how many rows come before the chunk's
    first row in the whole output, and in the whole input). Counts add up; the first rows stay the first (at most
    3 per column and kind), renumbered: by output row, or by input row for the row kinds. Every chunk repeats the
    header row, so a header_mismatch is counted once, from the first chunk."""
    merged: dict[tuple[str, int | None], ConversionWarning] = {}
    for summary, output_offset, input_offset in parts:
        for warning in summary.warnings:
            key = (warning.kind, warning.column)
            offset = input_offset if warning.kind in ROW_KINDS else output_offset
            shifted = [e.model_copy(update={"row": e.row + offset}) for e in warning.examples]
            if warning.kind == "header_mismatch":
                shifted = [e.model_copy() for e in warning.examples]
            if key not in merged:
                merged[key] = warning.model_copy(update={"examples": shifted[:FIRST_ROWS]})
                continue
            if warning.kind == "header_mismatch":
                continue
            known = merged[key]
            examples = sorted([*known.examples, *shifted], key=lambda e: e.row)[:FIRST_ROWS]
            merged[key] = known.model_copy(update={"count": known.count + warning.count, "examples": examples,
                                                   "column_name": known.column_name or warning.column_name})
    ordered = sorted(merged.values(), key=lambda w: (w.column or 0, w.kind))
    return ConversionWarnings(warnings=ordered)


def describe_warnings(summary: ConversionWarnings) -> str:
    """The warnings in words, one clause per column and kind."""
    return "; ".join(w.describe() for w in summary.warnings)
