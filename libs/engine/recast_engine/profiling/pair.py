"""A train pair's profile: both files profiled in full, how they relate, and the summary later stages read."""
from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path
from typing import Any

from recast_engine.profiling.table import Progress, Row, profile_file, profile_rows

RELATION_ROWS = 5000  # rows of each file compared for the copied-cell share


def _relation(input_head: list[Row], expected_head: list[Row], input_rows: int, expected_rows: int) -> dict[str, Any]:
    input_cells = {c for r in input_head for c in r}
    expected_cells = [c for r in expected_head for c in r]
    copied = sum(1 for c in expected_cells if c in input_cells)
    return {
        "row_ratio": round(expected_rows / input_rows, 3) if input_rows else None,
        "copied_cell_share": round(copied / len(expected_cells), 3) if expected_cells else 0.0,
        "same_header": bool(input_head and expected_head and input_head[0] == expected_head[0]),
    }


def _combine(source: dict[str, Any], target: dict[str, Any], relation: dict[str, Any], header: str) -> dict[str, Any]:
    if header == "yes":
        header_guess = True
    elif header == "no":
        header_guess = False
    else:
        header_guess = source["header_guess"] and target["header_guess"]
    relation["column_delta"] = target["columns"] - source["columns"]
    return {"header_mode": header, "header_guess": header_guess, "input": source, "expected": target,
            "relation": relation}


def profile_pair(input_grid: list[Row], expected_grid: list[Row], header: str = "auto") -> dict[str, Any]:
    """Profile both files of a train pair (given as grids) and how they relate."""
    mode = header if header in ("yes", "no") else "auto"
    source, target = profile_rows(input_grid, mode), profile_rows(expected_grid, mode)
    relation = _relation(input_grid[:RELATION_ROWS], expected_grid[:RELATION_ROWS], len(input_grid),
                         len(expected_grid))
    return _combine(source, target, relation, header)


def _head(path: Path) -> list[Row]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return list(itertools.islice(csv.reader(handle), RELATION_ROWS))


def profile_pair_files(input_path: str | os.PathLike[str], expected_path: str | os.PathLike[str], header: str = "auto",
                       progress: Progress | None = None) -> dict[str, Any]:
    """Profile both files of a train pair from disk in one streaming pass each.

    progress gets (bytes read, total bytes of both files, rows) as the pass goes."""
    input_path, expected_path = Path(input_path), Path(expected_path)
    mode = header if header in ("yes", "no") else "auto"
    first = input_path.stat().st_size
    total = first + expected_path.stat().st_size

    def shifted(offset: int) -> Progress | None:
        if progress is None:
            return None
        return lambda done, _total, rows: progress(offset + done, total, rows)

    source = profile_file(input_path, mode, shifted(0))
    target = profile_file(expected_path, mode, shifted(first))
    relation = _relation(_head(input_path), _head(expected_path), source["rows"], target["rows"])
    return _combine(source, target, relation, header)


def summarize(profile: dict[str, Any]) -> dict[str, Any]:
    """The small part of a pair's profile carried in the job.profiled event."""
    src, dst = profile["input"], profile["expected"]
    return {
        "input_rows": src["rows"],
        "input_columns": src["columns"],
        "expected_rows": dst["rows"],
        "expected_columns": dst["columns"],
        "header_guess": profile["header_guess"],
        "input_kinds": [c["kind"] for c in src["column_profiles"]][:50],
        "expected_kinds": [c["kind"] for c in dst["column_profiles"]][:50],
        "copied_cell_share": profile["relation"]["copied_cell_share"],
        "row_ratio": profile["relation"]["row_ratio"],
    }

