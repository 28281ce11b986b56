"""A whole CSV file's profile in one streaming pass: rows, header, ragged rows, duplicates and every column.

Rows are read the way learned scripts read them (csv module, UTF-8, a byte order mark is not data; bad bytes
become U+FFFD). Only the first HEAD_ROWS rows are held, to decide whether the first row is a header. The rest are
taken BATCH_ROWS at a time and handed to each column as one list, so most cells cost a C-level count rather than
a Python call; every statistic is the one the row-by-row pass computes (the same values in the same order).

A file can also be profiled in parts and the parts merged (recast_engine.profiling.partial): _TableState merges
with the state of the rows after its own and saves itself as a JSON-able model.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel

from recast_engine.kinds import looks_like_header
from recast_engine.profiling.columns import NULL_TOKENS, ColumnProfiler, ColumnState
from recast_engine.profiling.sketches import DuplicateCounter, DuplicateCounterState

Row = list[str]
# progress(bytes read, total bytes or None, rows read)
Progress = Callable[[int, int | None, int], None]

HEAD_ROWS = 200
EXACT_VALUES_BUDGET = 400_000  # distinct values counted exactly, shared by the columns of a file
PROGRESS_ROWS = 20_000
BATCH_ROWS = 5_000  # rows read before the columns see them (memory: one batch of rows)
ROW_WIDTHS = 20

csv.field_size_limit(2**31 - 1)


def profile_rows(rows: Iterable[Row], header_mode: str = "auto", *, progress: Callable[[int], None] | None = None,
                 byte_count: Callable[[], int] | None = None) -> dict[str, Any]:
    """Profile rows streamed once. header_mode: "auto" (guess from the first rows), "yes" or "no"."""
    iterator = iter(rows)
    head = list(islice(iterator, HEAD_ROWS))
    header, width_hint = layout_of(head, header_mode)
    state = _TableState(head[0] if header and head else None, width_hint)
    body = head[1:] if header else head
    for row in body:
        state.add(row)
    started = time.monotonic()
    while True:
        # a batch ends where the row-by-row pass reported progress, so progress is reported at the same rows
        batch = list(islice(iterator, min(BATCH_ROWS, PROGRESS_ROWS - state.data_rows % PROGRESS_ROWS)))
        if not batch:
            break
        state.add_batch(batch)
        if progress is not None and state.data_rows % PROGRESS_ROWS == 0:
            progress(state.data_rows)
    profile = state.result(header)
    profile["seconds"] = round(time.monotonic() - started, 3)
    if byte_count is not None:
        profile["bytes"] = byte_count()
    return profile


def layout_of(head: list[Row], header_mode: str) -> tuple[bool, int]:
    """Whether the first of a file's first rows is a header, and the widest of them (the columns' share of the
    exact values budget follows from it)."""
    if header_mode == "yes":
        header = bool(head)
    elif header_mode == "no":
        header = False
    else:
        header = looks_like_header(head)
    return header, max((len(r) for r in head), default=0)


class TableState(BaseModel):
    """A _TableState saved."""

    header_row: list[str] | None
    bound: int
    columns: list[ColumnState]
    widths: dict[int, int]
    duplicates: DuplicateCounterState
    data_rows: int
    blank_rows: int


class _TableState:
    def __init__(self, header_row: Row | None, width_hint: int) -> None:
        self.header_row = header_row
        self.bound = max(1_000, EXACT_VALUES_BUDGET // max(1, width_hint))
        self.columns: list[ColumnProfiler] = []
        self.adders: list[Callable[[str], None]] = []  # the columns' add methods (one attribute lookup less per cell)
        self.widths: Counter[int] = Counter()
        self.duplicates = DuplicateCounter()
        self.data_rows = 0
        self.blank_rows = 0

    def add(self, row: Row) -> None:
        self.data_rows += 1
        width = len(row)
        widths = self.widths
        if width in widths or len(widths) < ROW_WIDTHS:
            widths[width] += 1
        if width > len(self.adders):
            while len(self.columns) < width:
                self.columns.append(ColumnProfiler(len(self.columns), self.bound))
            self.adders = [c.add for c in self.columns]
        for add, value in zip(self.adders, row):
            add(value)
        self.duplicates.add(_row_key(row) if row and row[-1] == "" else tuple(row))
        if _is_blank(row):
            self.blank_rows += 1

    def add_batch(self, rows: list[Row]) -> None:
        """Rows in order: the same result as add(row) for each, column by column."""
        self.data_rows += len(rows)
        widths = self.widths
        batch_widths = Counter(map(len, rows))
        if len(widths.keys() | batch_widths.keys()) <= ROW_WIDTHS:
            widths.update(batch_widths)
        else:  # past the cap the widths counted depend on the order rows came in
            for width in map(len, rows):
                if width in widths or len(widths) < ROW_WIDTHS:
                    widths[width] += 1
        widest = max(batch_widths)
        while len(self.columns) < widest:
            self.columns.append(ColumnProfiler(len(self.columns), self.bound))
        self.adders = [c.add for c in self.columns]
        narrowest = min(batch_widths)
        for index, values in enumerate(zip(*rows)):  # the columns every row of the batch has
            self.columns[index].add_many(values)
        for index in range(narrowest, widest):
            self.columns[index].add_many([row[index] for row in rows if len(row) > index])
        self.duplicates.add_many([_row_key(row) if row and row[-1] == "" else tuple(row) for row in rows])
        self.blank_rows += sum(1 for row in rows if _is_blank(row))

    def merge(self, other: _TableState) -> None:
        """Take in the rows of `other` (the rows after this one's); `other` may be left changed."""
        self.data_rows += other.data_rows
        self.blank_rows += other.blank_rows
        for width, count in other.widths.items():
            if width in self.widths or len(self.widths) < ROW_WIDTHS:
                self.widths[width] += count
        for column in other.columns:
            if column.index == len(self.columns):
                self.columns.append(ColumnProfiler(column.index, self.bound))
            self.columns[column.index].merge(column)
        self.adders = [c.add for c in self.columns]
        self.duplicates.merge(other.duplicates)

    def to_state(self) -> TableState:
        return TableState(header_row=self.header_row, bound=self.bound, columns=[c.to_state() for c in self.columns],
                          widths=dict(self.widths), duplicates=self.duplicates.to_state(), data_rows=self.data_rows,
                          blank_rows=self.blank_rows)

    @classmethod
    def from_state(cls, saved: TableState) -> _TableState:
        state = cls(saved.header_row, 0)
        state.bound = saved.bound
        state.columns = [ColumnProfiler.from_state(c) for c in saved.columns]
        if [c.index for c in state.columns] != list(range(len(state.columns))):
            raise ValueError("a table state's columns are not numbered 0, 1, ...")
        state.adders = [c.add for c in state.columns]
        state.widths = Counter(saved.widths)
        state.duplicates = DuplicateCounter.from_state(saved.duplicates)
        state.data_rows, state.blank_rows = saved.data_rows, saved.blank_rows
        return state

    def result(self, header: bool) -> dict[str, Any]:
        names = self.header_row or []
        columns = [c.result(self.data_rows, names[c.index] if c.index < len(names) else None) for c in self.columns]
        widths = self.widths
        return {
            "rows": self.data_rows + (1 if header else 0),
            "data_rows": self.data_rows,
            "columns": len(columns),
            "header_guess": header,
            "header": list(names) if header else None,
            "ragged": len(widths) > 1,
            "row_widths": {str(w): n for w, n in sorted(widths.items())},
            "ragged_rows": sum(n for w, n in widths.items() if w != len(columns)),
            "empty_rows": self.blank_rows,
            "duplicate_rows": self.duplicates.duplicates(),
            "duplicate_rows_exact": self.duplicates.exact,
            "null_cells": sum(c["nulls"] for c in columns),
            "column_profiles": columns,
        }


def _row_key(row: Row) -> tuple[str, ...]:
    """A short row equals the same row padded with empty cells: trailing empty cells are not part of its key."""
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return tuple(row[:end])


def _is_blank(row: Row) -> bool:
    first = row[0] if row else ""
    return (first in NULL_TOKENS or not first.strip()) and all(v in NULL_TOKENS or not v.strip() for v in row)


class _CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read through it."""

    def __init__(self, raw: BinaryIO | io.RawIOBase) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # a memoryview
        n: int = self.raw.readinto(buffer)  # type: ignore[union-attr]  # a binary file is buffered or raw
        self.count += n or 0
        return n


def _text_rows(binary: BinaryIO | io.RawIOBase) -> tuple[Iterator[Row], _CountingReader, bool]:
    counter = _CountingReader(binary)
    buffered = io.BufferedReader(counter, 1 << 20)
    bom = buffered.peek(3)[:3] == codecs.BOM_UTF8
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")
    return csv.reader(text), counter, bom


def profile_stream(binary: BinaryIO, header_mode: str = "auto", total: int | None = None,
                   progress: Progress | None = None) -> dict[str, Any]:
    rows, counter, bom = _text_rows(binary)
    on_rows = None if progress is None else (lambda n: progress(counter.count, total, n))
    try:
        profile = profile_rows(rows, header_mode, progress=on_rows, byte_count=lambda: counter.count)
    except csv.Error as exc:
        raise ValueError(f"not a readable CSV document: {exc}") from exc
    profile["bom"] = bom
    if profile["seconds"] > 0:
        profile["mb_per_second"] = round(profile["bytes"] / 1e6 / profile["seconds"], 2)
    return profile


def profile_file(
    path: str | os.PathLike[str], header_mode: str = "auto", progress: Progress | None = None
) -> dict[str, Any]:
    """Profile a CSV file in one pass, in bounded memory."""
    path = Path(path)
    with path.open("rb") as binary:
        return profile_stream(binary, header_mode, path.stat().st_size, progress)


def profile_bytes(data: bytes, header_mode: str = "auto") -> dict[str, Any]:
    return profile_stream(io.BytesIO(data), header_mode, len(data))
