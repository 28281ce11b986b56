"""Guards: what a learned script could not convert, counted while it runs (standard library only; copied into
every script).

Kinds (an operator's declaration names the kind it is guarded by, see recast_engine.operators):
- "unknown_key": a lookup met a non-empty key its table (learned from the example) does not hold, so it wrote
  its default;
- "unparsed_date" / "unparsed_number": a date or number operator gave "" for non-empty input: the value does
  not read in the learned format;
- "wrong_width": an input row has another number of cells than the train input's rows;
- "header_mismatch": the input's header row is not the train input's.

An empty input cell is never counted: it gives an empty (or the default) output by design. At the end the script
prints one line on stderr, `{"recast_warnings": {...}}` (WarningCounter.summary): per output column and kind the
count and the first rows (row numbers as the output has them, 1 being the header row when there is one; input row
numbers for the row kinds).
"""
from __future__ import annotations

import json
from typing import IO, Any

SUMMARY_KEY = "recast_warnings"
SUMMARY_VERSION = 1
FIRST_ROWS = 3  # examples kept per output column and kind
VALUE_CHARACTERS = 60  # an example's value is cut to this many characters
SUMMARY_CHARACTERS = 6000  # the line stays within what a runner keeps of stderr (fewer examples when longer)


def unknown_key(key: Any, table: dict[str, str]) -> tuple[str, str] | None:
    """("unknown_key", key) when a lookup of this key falls back to its default, else None."""
    if key == "" or key in table:
        return None
    return "unknown_key", str(key)


def unparsed(kind: str, result: Any, *inputs: Any) -> tuple[str, str] | None:
    """(kind, the inputs) when an operator gave "" for input that is not all empty, else None."""
    if result != "" or all(str(value) == "" for value in inputs):
        return None
    return kind, ", ".join(str(value) for value in inputs)


def problems(*found: tuple[str, str] | None) -> tuple[tuple[str, str], ...]:
    """The (kind, value) pairs found for one cell, the first of each kind."""
    kept: dict[str, tuple[str, str]] = {}
    for problem in found:
        if problem is not None and problem[0] not in kept:
            kept[problem[0]] = problem
    return tuple(kept.values())


class WarningCounter:
    """Counts and first rows of what the conversion could not do, per (kind, output column)."""

    def __init__(self, width: int | None, header_line: str | None) -> None:
        self.width, self.header_line = width, header_line
        self.clear()

    def clear(self) -> None:
        self.found: dict[tuple[str, int | None], list[Any]] = {}  # (kind, column) -> [count, [(row, value)]]
        self.names: list[str] = []
        self.converted = 0  # data rows converted so far (the vectorized script numbers its batches by it)

    def note(self, kind: str, column: int | None, row: int, value: str) -> None:
        self.add(kind, column, 1, [(row, value)])

    def add(self, kind: str, column: int | None, count: int, first: list[tuple[int, str]]) -> None:
        """count more of kind in column, the first rows among them (row number, value) in order."""
        entry = self.found.setdefault((kind, column), [0, []])
        entry[0] += count
        for row, value in first[:FIRST_ROWS - len(entry[1])]:
            entry[1].append((row, value[:VALUE_CHARACTERS]))

    def note_cell(self, row: int, column: int, found: tuple[tuple[str, str], ...]) -> None:
        for kind, value in found:
            self.note(kind, column, row, value)

    def named(self, header: list[str]) -> list[str]:
        """The output header row, kept to name the columns in the summary."""
        self.names = list(header)
        return header

    def check_header(self, row: list[str]) -> None:
        if self.header_line is not None and header_line(row) != self.header_line:
            self.note("header_mismatch", None, 1, header_line(row))

    def watch(self, rows: Any) -> Any:
        """The input rows, counting those of the wrong width and checking the header row."""
        if self.width is None and self.header_line is None:
            return rows
        return self._watched(rows)

    def _watched(self, rows: Any) -> Any:
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return
        self.check_header(first)
        width = self.width
        if width is not None and len(first) != width:
            self.note("wrong_width", None, 1, f"{len(first)} cells, not {width}")
        yield first
        if width is None:
            yield from rows
            return
        for number, row in enumerate(rows, 2):
            if len(row) != width:
                self.note("wrong_width", None, number, f"{len(row)} cells, not {width}")
            yield row

    def summary(self) -> dict[str, Any]:
        warnings = []
        for (kind, column), (count, first) in sorted(self.found.items(), key=lambda item: (
                item[0][1] or 0, item[0][0])):
            name = self.names[column - 1] if column and column <= len(self.names) else None
            warnings.append({"kind": kind, "column": column, "column_name": name, "count": count,
                             "examples": [{"row": row, "value": value} for row, value in first]})
        return {"version": SUMMARY_VERSION, "warnings": warnings}

    def report(self, stream: IO[str]) -> None:
        """Print the summary as one JSON line (the script prints it on stderr)."""
        summary = self.summary()
        line = json.dumps({SUMMARY_KEY: summary})
        for kept in (1, 0):
            if len(line) <= SUMMARY_CHARACTERS:
                break
            for warning in summary["warnings"]:
                del warning["examples"][kept:]
            line = json.dumps({SUMMARY_KEY: summary})
        print(line, file=stream, flush=True)


def header_line(row: list[str]) -> str:
    """A header row as one comparable line: its names stripped, joined by commas."""
    return ",".join(str(name).strip() for name in row)
