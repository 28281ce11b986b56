"""The profiler takes rows in batches, column by column: every statistic equals the row-by-row pass's."""
from __future__ import annotations

import csv
import random

from recast_engine.profiling import table as table_module
from test_profiling_stats import write_messy


def profile_row_by_row(rows: list[list[str]], bound: int) -> dict:
    state = table_module._TableState(rows[0], max(len(r) for r in rows))
    state.bound = bound
    for row in rows[1:]:
        state.add(row)
    return state.result(True)


def profile_in_batches(rows: list[list[str]], bound: int, size: int) -> dict:
    state = table_module._TableState(rows[0], max(len(r) for r in rows))
    state.bound = bound
    for start in range(1, len(rows), size):
        state.add_batch(rows[start:start + size])
    return state.result(True)


def test_batches_give_the_row_by_row_profile_with_ragged_rows_and_columns_spilling_mid_batch(tmp_path):
    path = tmp_path / "messy.csv"
    write_messy(path, 6000)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rng = random.Random(1)
    rows += [[str(rng.random()), "x"] for _ in range(3000)] + [[]] * 3  # many-valued cells, then blank lines
    for bound, size in ((1_000, 777), (400, 5_000), (100_000, 1_000)):
        expected = profile_row_by_row(rows, bound)
        got = profile_in_batches(rows, bound, size)
        assert got == expected, (bound, size)
        assert got["column_profiles"][0]["distinct_exact"] is (bound == 100_000)  # the small bounds spilled


def test_a_file_with_many_row_widths_counts_the_same_widths_in_batches():
    rows = [["h"]] + [["x"] * (1 + i % 30) for i in range(2_000)]
    assert profile_in_batches(rows, 1_000, 300)["row_widths"] == profile_row_by_row(rows, 1_000)["row_widths"]
