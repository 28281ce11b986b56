"""Data profiling of a train pair (kept for its importers; the code lives in recast_engine.profiling).

The full profile is stored in S3; `summarize` keeps the few numbers the planner, the LLM prompt and the job
page need (the event stays small).
"""
from __future__ import annotations

from typing import Any

from recast_engine.csvgrid import parse_grid
from recast_engine.kinds import cell_kind, column_kind, looks_like_header
from recast_engine.profiling import profile_pair, profile_pair_files, profile_rows, summarize

Row = list[str]

__all__ = ["cell_kind", "column_kind", "looks_like_header", "parse_csv", "profile_grid", "profile_pair",
           "profile_pair_files", "summarize"]


def parse_csv(data: bytes | str) -> list[Row]:
    """Rows of a CSV document the way the learned scripts read them (UTF-8, a BOM is not data)."""
    return parse_grid(data, strict=False)


def profile_grid(grid: list[Row]) -> dict[str, Any]:
    return profile_rows(grid, "auto")
