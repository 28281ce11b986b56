"""A file profiled in byte ranges (as a chunked inference run does) and the ranges' partial profiles merged gives
the profile of one pass over the file: equal where it is exact, within the sketches' error past their bounds.
Each sketch's merge and saved state on its own, too."""
from __future__ import annotations

import math
import random
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from recast_engine.chunking import plan_chunks
from recast_engine.profiling import profile_file
from recast_engine.profiling import table as table_module
from recast_engine.profiling.partial import (
    PartialProfile,
    merge_profiles,
    pack,
    profile_range,
    table_layout,
    unpack,
)
from recast_engine.profiling.sketches import (
    DuplicateCounter,
    Extremes,
    FrequentItems,
    HyperLogLog,
    QuantileSketch,
    RunningStats,
)
from test_profiling_stats import write_messy

TIMING = ("seconds", "mb_per_second")


def ranges_of(path: Path, chunk_bytes: int) -> list[tuple[int, int]]:
    plan = plan_chunks(path.read_bytes(), chunk_bytes, first_record=False)
    assert len(plan.chunks) >= 3
    return [(c.start, c.end) for c in plan.chunks]


def profile_in_ranges(path: Path, chunk_bytes: int, header_mode: str = "auto") -> dict:
    """Each range profiled apart, its state stored and loaded again, then all merged."""
    layout = table_layout(path, header_mode)
    parts = [profile_range(path, start, end, layout, first=index == 0)
             for index, (start, end) in enumerate(ranges_of(path, chunk_bytes))]
    return merge_profiles(unpack(pack(part)) for part in parts)


def untimed(profile: dict) -> dict:
    return {k: v for k, v in profile.items() if k not in TIMING}


def test_a_file_profiled_in_ranges_and_merged_is_its_one_pass_profile_under_the_bounds(tmp_path):
    path = tmp_path / "messy.csv"
    write_messy(path, 8000)  # a BOM, nulls, ragged rows, quoted newlines, dates, duplicates
    whole = profile_file(path)
    merged = profile_in_ranges(path, 40_000)
    assert whole["duplicate_rows"] >= 29 and whole["ragged_rows"] > 0 and whole["bom"]
    assert all(c["distinct_exact"] for c in whole["column_profiles"])
    assert untimed(merged) == untimed(whole)


def test_the_header_decision_is_the_files_whatever_the_later_ranges_look_like(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("".join(f"{i},{i * 2}\n" for i in range(20_000)))
    for mode in ("auto", "yes", "no"):
        merged, whole = profile_in_ranges(path, 30_000, mode), profile_file(path, mode)
        assert untimed(merged) == untimed(whole), mode
    assert profile_in_ranges(path, 30_000, "yes")["data_rows"] == 19_999


def test_columns_past_the_exact_bound_merge_exact_counts_and_sketches_within_their_error(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "EXACT_VALUES_BUDGET", 3_000)  # 1,000 exact values per column
    rng = random.Random(11)
    path = tmp_path / "wide.csv"
    rows = [f"{i},{rng.lognormvariate(3, 1):.4f},{rng.choice('abcde')}{rng.randint(0, 30)}"
            + ("" if i % 50 else ",NULL") for i in range(60_000)]
    path.write_text("id,value,code\n" + "\n".join(rows + rows[:500]) + "\n")
    whole, merged = profile_file(path), profile_in_ranges(path, 200_000)
    for key in ("rows", "data_rows", "columns", "header", "null_cells", "row_widths", "ragged_rows",
                "duplicate_rows", "duplicate_rows_exact"):
        assert merged[key] == whole[key], key
    assert merged["duplicate_rows"] == 500
    values = pd.to_numeric(pd.Series([r.split(",")[1] for r in rows + rows[:500]]))
    for got, want in zip(merged["column_profiles"], whole["column_profiles"], strict=True):
        for key in ("cells", "nulls", "blanks", "missing", "filled", "kinds", "min_length", "max_length",
                    "distinct_exact", "kind"):
            assert got[key] == want[key], (got["index"], key)
        assert abs(got["distinct"] - want["distinct"]) <= 0.03 * want["distinct"]
    ident, value, code = merged["column_profiles"][:3]
    assert not ident["distinct_exact"] and abs(ident["distinct"] - 60_000) < 0.03 * 60_000
    numeric = value["numeric"]
    assert (numeric["count"], numeric["min"], numeric["max"]) == (len(values), values.min(), values.max())
    assert math.isclose(numeric["mean"], values.mean(), rel_tol=1e-9)
    assert math.isclose(numeric["std"], values.std(), rel_tol=1e-9)
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert abs((values < numeric["quantiles"][str(q)]).mean() - q) < 0.02, q
    assert sum(numeric["histogram"]["counts"]) == pytest.approx(len(values), rel=0.01)
    assert code["distinct_exact"] and code["distinct"] == whole["column_profiles"][2]["distinct"]
    assert code["top_values"] == whole["column_profiles"][2]["top_values"]


def test_partials_hashed_with_another_seed_are_refused(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(5000)))
    layout = table_layout(path)
    size = path.stat().st_size
    half = path.read_bytes().index(b"\n", size // 2) + 1
    mine = profile_range(path, 0, half, layout, first=True)
    code = ("import sys; from pathlib import Path; from recast_engine.profiling.partial import *; "
            f"sys.stdout.buffer.write(pack(profile_range(Path({str(path)!r}), {half}, {size}, "
            f"TableLayout.model_validate_json({layout.model_dump_json()!r}), first=False)))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                           env={"PYTHONHASHSEED": "1234"}).stdout
    with pytest.raises(ValueError, match="PYTHONHASHSEED"):
        merge_profiles([mine, unpack(other)])


def halves(values: list) -> tuple[list, list]:
    return values[: len(values) // 3], values[len(values) // 3:]


def test_running_stats_merged_give_the_one_pass_mean_and_std():
    rng = random.Random(1)
    values = [rng.gauss(1e6, 3) for _ in range(10_001)]
    first, second = RunningStats(), RunningStats()
    for x in halves(values)[0]:
        first.add(x)
    for x in halves(values)[1]:
        second.add(x)
    first.merge(RunningStats.from_state(second.to_state()))
    assert first.n == len(values) and (first.low, first.high) == (min(values), max(values))
    assert math.isclose(first.mean, statistics.fmean(values), rel_tol=1e-9)
    assert math.isclose(first.std, statistics.stdev(values), rel_tol=1e-9)
    empty = RunningStats()
    empty.merge(first)
    assert (empty.n, empty.mean, empty.m2) == (first.n, first.mean, first.m2)


def test_hyperloglogs_merged_are_the_hyperloglog_of_both_streams():
    one, first, second = HyperLogLog(), HyperLogLog(), HyperLogLog()
    items = [f"v{i}" for i in range(50_000)] + [f"v{i}" for i in range(0, 50_000, 3)]
    for item in items:
        one.add(item)
    for item in halves(items)[0]:
        first.add(item)
    for item in halves(items)[1]:
        second.add(item)
    first.merge(HyperLogLog.from_state(second.to_state()))
    assert first.registers == one.registers
    assert abs(first.estimate() - 50_000) < 0.03 * 50_000


def test_frequent_items_merged_keep_every_heavy_value_with_the_errors_added():
    rng = random.Random(2)
    stream = [rng.choice("xyz") if rng.random() < 0.4 else str(rng.randint(0, 10**6)) for _ in range(60_000)]
    first, second = FrequentItems(64), FrequentItems(64)
    for v in halves(stream)[0]:
        first.add(v)
    for v in halves(stream)[1]:
        second.add(v)
    first.merge(FrequentItems.from_state(second.to_state()))
    truth = pd.Series(stream).value_counts()
    top = dict(first.top(3))
    assert set(top) == set("xyz") and len(first.counts) <= 2 * first.capacity
    assert first.error <= len(stream) / first.capacity
    for v, c in top.items():
        assert truth[v] - first.error <= c <= truth[v]


def test_quantile_sketches_merged_rank_within_two_percent_in_bounded_memory():
    rng = random.Random(4)
    values = [rng.expovariate(1) for _ in range(120_000)]
    parts = [QuantileSketch() for _ in range(6)]
    for i, x in enumerate(values):
        parts[i * 6 // len(values)].add(x)
    merged = QuantileSketch.from_state(parts[0].to_state())
    for part in parts[1:]:
        merged.merge(QuantileSketch.from_state(part.to_state()))
    s = pd.Series(values)
    qs = (0.01, 0.1, 0.5, 0.9, 0.99)
    for q, got in zip(qs, merged.quantiles(qs), strict=True):
        assert abs((s < got).mean() - q) < 0.02, q
    assert merged.n == len(values)
    assert sum(len(level) << h for h, level in enumerate(merged.levels)) == pytest.approx(len(values), rel=0.01)
    assert sum(len(level) for level in merged.levels) < 4 * merged.k


def test_extremes_merged_are_the_extremes_of_both_streams():
    rng = random.Random(5)
    values = [rng.uniform(-1000, 1000) for _ in range(5000)]
    one, first, second = Extremes(5), Extremes(5), Extremes(5)
    for x in values:
        one.add(x, f"{x}")
    for x in halves(values)[0]:
        first.add(x, f"{x}")
    for x in halves(values)[1]:
        second.add(x, f"{x}")
    first.merge(Extremes.from_state(second.to_state()))
    assert (first.lowest(), first.highest()) == (one.lowest(), one.highest())


def test_duplicate_counters_merged_are_exact_under_the_bound_and_flagged_estimates_past_it():
    rng = random.Random(9)
    rows = [(str(rng.randint(0, 30_000)), "x") for _ in range(60_000)]
    truth = int(pd.DataFrame(rows).duplicated().sum())

    def merged(bound: int) -> DuplicateCounter:
        first, second = DuplicateCounter(bound), DuplicateCounter(bound)
        first.add_many(halves(rows)[0])
        second.add_many(halves(rows)[1])
        first.merge(DuplicateCounter.from_state(second.to_state()))
        return first

    exact = merged(100_000)
    assert exact.exact and exact.duplicates() == truth
    assert merged(20_000).exact is False  # each half within the bound, not their union
    sampled = merged(4_000)
    assert not sampled.exact and abs(sampled.duplicates() - truth) < 0.1 * truth
    assert len(sampled.seen) <= 4_000


def test_a_partial_profile_survives_its_stored_form(tmp_path):
    path = tmp_path / "messy.csv"
    write_messy(path, 2000)
    part = profile_range(path, 0, path.stat().st_size, table_layout(path), first=True)
    assert isinstance(unpack(pack(part)), PartialProfile) and unpack(pack(part)) == part
