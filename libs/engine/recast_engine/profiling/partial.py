"""A CSV file profiled in byte ranges (the chunks of a large inference run, each where it is converted) and the
ranges' partial profiles merged into the profile of the whole file.

The file's layout (header or not, and the widest of its first rows, which sets how many distinct values each
column counts exactly) is decided once from its first rows, as profile_file decides it, and every range is
profiled with it. The merged profile is profile_file's: its counts, null counts, lengths, min / max, exact
distinct counts and quantiles, categories and duplicates are the same while under their bounds; past them the
sketches' estimates, within their error. Ranges are merged in file order (samples, examples and first-seen orders
follow it).

The hashed sketches merge only within one process or between processes with the same PYTHONHASHSEED: each
partial carries a hash of a fixed string and states hashed otherwise are refused.
"""
from __future__ import annotations

import csv
import gzip
import io
import os
import time
from collections.abc import Iterable
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel

from recast_engine.profiling.table import BATCH_ROWS, HEAD_ROWS, TableState, _TableState, _text_rows, layout_of

_PROBE = "recast partial profile"


class TableLayout(BaseModel):
    header: bool  # the file's first row is a header
    width_hint: int  # the widest of its first rows


class PartialProfile(BaseModel):
    """The profile state of one byte range of a file, and what the merged profile says of the range."""

    table: TableState
    header: bool  # the range holds the file's header row (the first range of a file with one)
    bom: bool
    bytes: int
    seconds: float
    hash_probe: int  # hash(_PROBE) where the range was profiled


def table_layout(path: str | os.PathLike[str], header_mode: str = "auto") -> TableLayout:
    """The layout profile_file(path, header_mode) gives the file, from its first rows."""
    with Path(path).open("rb") as binary:
        rows, _, _ = _text_rows(binary)
        try:
            head = list(islice(rows, HEAD_ROWS))
        except csv.Error as exc:
            raise ValueError(f"not a readable CSV document: {exc}") from exc
    header, width_hint = layout_of(head, header_mode)
    return TableLayout(header=header, width_hint=width_hint)


class _Window(io.RawIOBase):
    """The bytes [start, end) of a binary file."""

    def __init__(self, raw: BinaryIO, start: int, end: int) -> None:
        raw.seek(start)
        self.raw, self.left = raw, max(0, end - start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # a memoryview
        if self.left <= 0:
            return 0
        view = memoryview(buffer)[: self.left]
        n: int = self.raw.readinto(view)  # type: ignore[attr-defined]  # a binary file is buffered or raw
        self.left -= n or 0
        return n


def profile_range(path: str | os.PathLike[str], start: int, end: int, layout: TableLayout, *, first: bool
                  ) -> PartialProfile:
    """The partial profile of the records in bytes [start, end) of the file (record boundaries), the file's
    first range when `first` (its first row is the header when the layout says so; a byte order mark is noted)."""
    started = time.monotonic()
    with Path(path).open("rb") as binary:
        rows, counter, bom = _text_rows(_Window(binary, start, end))
        try:
            header_row = next(rows, None) if first and layout.header else None
            state = _TableState(header_row, layout.width_hint)
            while batch := list(islice(rows, BATCH_ROWS)):
                state.add_batch(batch)
        except csv.Error as exc:
            raise ValueError(f"not a readable CSV document: {exc}") from exc
    return PartialProfile(table=state.to_state(), header=header_row is not None, bom=first and bom,
                          bytes=counter.count, seconds=round(time.monotonic() - started, 3), hash_probe=hash(_PROBE))


def merge_profiles(parts: Iterable[PartialProfile]) -> dict[str, Any]:
    """The profile (profile_file's) of the file whose ranges, in order, the parts are; its seconds (and
    mb_per_second) are the parts' added up, not a wall time."""
    parts = list(parts)
    if not parts:
        raise ValueError("no partial profile to merge")
    if any(p.hash_probe != parts[0].hash_probe for p in parts):
        raise ValueError("partial profiles hashed with different seeds (profile them with one PYTHONHASHSEED)")
    if hash(_PROBE) != parts[0].hash_probe:
        # a column counted exactly in one part and sketched in another is hashed again here
        raise ValueError("merging in a process that hashes otherwise than the parts did (merge them with their "
                         "PYTHONHASHSEED)")
    state = _TableState.from_state(parts[0].table)
    for part in parts[1:]:
        state.merge(_TableState.from_state(part.table))
    profile = state.result(parts[0].header)
    seconds = sum(p.seconds for p in parts)
    profile |= {"seconds": round(seconds, 3), "bytes": sum(p.bytes for p in parts), "bom": parts[0].bom}
    if seconds > 0:
        profile["mb_per_second"] = round(profile["bytes"] / 1e6 / seconds, 2)
    return profile


def pack(part: PartialProfile) -> bytes:
    """A partial profile as stored: gzip'd JSON."""
    return gzip.compress(part.model_dump_json().encode(), compresslevel=3)


def unpack(data: bytes) -> PartialProfile:
    return PartialProfile.model_validate_json(gzip.decompress(data))
