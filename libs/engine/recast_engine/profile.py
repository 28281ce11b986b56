"""Pure data profiling of a train pair: shape, header guess and per-column kinds of both CSV files.

The full profile is stored in S3; `summarize` keeps the few numbers the planner, the LLM prompt and the job
page need (the event stays small).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from recast_engine.csvgrid import parse_grid
from recast_engine.kinds import cell_kind, column_kind, looks_like_header

Row = list[str]

SAMPLE_VALUES = 5
PROFILE_ROWS = 5000  # rows inspected per file for column kinds (row counts cover the whole file)


def parse_csv(data: bytes | str) -> list[Row]:
    """Rows of a CSV document the way the learned scripts read them (UTF-8, a BOM is not data)."""
    return parse_grid(data, strict=False)


def profile_grid(grid: list[Row]) -> dict[str, Any]:
    widths = Counter(len(r) for r in grid)
    width = max(widths) if widths else 0
    header = looks_like_header(grid)
    body = grid[1:] if header else grid
    inspected = body[:PROFILE_ROWS]
    columns = []
    for j in range(width):
        values = [r[j] if j < len(r) else "" for r in inspected]
        kinds = Counter(cell_kind(v) for v in values)
        distinct = set(values)
        columns.append({
            "index": j,
            "name": grid[0][j] if header and j < len(grid[0]) else None,
            "kind": column_kind(kinds),
            "empty": kinds.get("empty", 0),
            "distinct": len(distinct),
            "max_length": max((len(v) for v in values), default=0),
            "samples": _samples(values),
        })
    return {
        "rows": len(grid),
        "data_rows": len(body),
        "columns": width,
        "ragged": len(widths) > 1,
        "row_widths": dict(sorted(widths.items())[:10]),
        "header_guess": header,
        "column_profiles": columns,
    }


def _samples(values: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for v in values:
        if v not in seen:
            seen.append(v[:80])
        if len(seen) >= SAMPLE_VALUES:
            break
    return seen


def profile_pair(input_grid: list[Row], expected_grid: list[Row], header: str = "auto") -> dict[str, Any]:
    """Profile both files of a train pair and how they relate."""
    source = profile_grid(input_grid)
    target = profile_grid(expected_grid)
    input_cells = {c for r in input_grid[:PROFILE_ROWS] for c in r}
    expected_cells = [c for r in expected_grid[:PROFILE_ROWS] for c in r]
    copied = sum(1 for c in expected_cells if c in input_cells)
    if header == "yes":
        header_guess = True
    elif header == "no":
        header_guess = False
    else:
        header_guess = source["header_guess"] and target["header_guess"]
    return {
        "header_mode": header,
        "header_guess": header_guess,
        "input": source,
        "expected": target,
        "relation": {
            "row_ratio": round(len(expected_grid) / len(input_grid), 3) if input_grid else None,
            "column_delta": target["columns"] - source["columns"],
            "copied_cell_share": round(copied / len(expected_cells), 3) if expected_cells else 0.0,
            "same_header": bool(input_grid and expected_grid and input_grid[0] == expected_grid[0]),
        },
    }


def summarize(profile: dict[str, Any]) -> dict[str, Any]:
    """The small part of a profile carried in the job.profiled event."""
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
