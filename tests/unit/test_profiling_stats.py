"""Every statistic of a file's profile against an independent computation with pandas.

Files: real benchmark inputs and generated ones with nulls, a byte order mark, ragged rows and unicode. Small
files are profiled exactly (the results must match pandas); larger ones go through the sketches and must stay
within their error bounds.
"""
from __future__ import annotations

import math
import random
from pathlib import Path

import pandas as pd
import pytest
from recast_engine.profiling import profile_file
from recast_engine.profiling import table as table_module
from recast_engine.profiling.columns import NULL_TOKENS, QUANTILES
from recast_engine.profiling.sketches import DuplicateCounter, FrequentItems, HyperLogLog, QuantileSketch

BENCHMARKS = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
if not BENCHMARKS.exists():
    BENCHMARKS = Path("/work/shared/benchmarks")
NUMBER = r"[+-]?(\d+|\d+[.,]\d*|\d*[.,]\d+)"


def reference(path: Path, header: bool) -> pd.DataFrame:
    """The file's data rows as pandas reads them: every cell a string, short rows padded with empty cells."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        import csv

        width = max((len(r) for r in csv.reader(handle)), default=0)
    return pd.read_csv(path, header=None, names=range(width), skiprows=1 if header else 0, dtype=str,
                       keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=False)


def assert_matches_pandas(path: Path) -> dict:
    profile = profile_file(path)
    df = reference(path, profile["header_guess"])
    assert profile["data_rows"] == len(df)
    assert profile["columns"] == df.shape[1]
    assert profile["duplicate_rows"] == int(df.duplicated().sum())
    for column in profile["column_profiles"]:
        s = df[column["index"]]
        null = s.isin(NULL_TOKENS)
        blank = ~null & (s.str.strip() == "")
        filled = s[~null & ~blank]
        where = f"{path.name} column {column['index']}"
        assert column["nulls"] == int(null.sum()), where
        assert column["blanks"] == int(blank.sum()), where
        assert column["distinct"] == filled.nunique(), where
        counts = filled.value_counts()
        for top in column["top_values"]:
            assert counts[top["value"]] == top["count"], where
        if column["top_values"]:
            assert column["top_values"][0]["count"] == counts.max(), where
        if len(filled):
            assert column["min_length"] == filled.str.len().min(), where
            assert column["max_length"] == filled.str.len().max(), where
        stripped = filled.str.strip()
        numbers = pd.to_numeric(stripped[stripped.str.fullmatch(NUMBER)].str.replace(",", "."))
        numeric = column["numeric"]
        if len(numbers) == 0:
            assert numeric is None, where
            continue
        assert numeric["count"] == len(numbers), where
        assert numeric["min"] == numbers.min() and numeric["max"] == numbers.max(), where
        assert math.isclose(numeric["mean"], numbers.mean(), rel_tol=1e-9, abs_tol=1e-9), where
        if len(numbers) > 1:
            assert math.isclose(numeric["std"], numbers.std(), rel_tol=1e-7, abs_tol=1e-9), where
        for q in QUANTILES:
            assert math.isclose(numeric["quantiles"][str(q)], numbers.quantile(q), rel_tol=1e-9, abs_tol=1e-9), where
        q1, q3 = numbers.quantile(0.25), numbers.quantile(0.75)
        if len(numbers) >= 4 and q3 > q1:
            iqr = q3 - q1
            outside = numbers[(numbers < q1 - 1.5 * iqr) | (numbers > q3 + 1.5 * iqr)]
            assert numeric["outliers"]["count"] == len(outside), where
            assert len(numeric["outliers"]["examples"]) == min(len(outside), len(numeric["outliers"]["examples"]))
        else:
            assert numeric["outliers"] is None, where
        assert sum(numeric["histogram"]["counts"]) == len(numbers), where
    return profile


def real_files() -> list[Path]:
    files = sorted(BENCHMARKS.glob("realworld/*/train_input.csv"))
    files += sorted(BENCHMARKS.glob("realworld/*/test_input.csv"))
    files += sorted(BENCHMARKS.glob("atbench/*_test24/train_input.csv"))
    return [f for f in files if f.stat().st_size < 100_000]  # pandas takes long column by column on wide ones


@pytest.mark.skipif(not BENCHMARKS.exists(), reason="benchmarks not present")
def test_every_statistic_matches_pandas_on_real_benchmark_files():
    files = real_files()
    assert len(files) > 10
    for path in files:
        assert_matches_pandas(path)


def write_messy(path: Path, rows: int, seed: int = 3) -> None:
    """A CSV with a BOM, nulls, blanks, ragged rows, unicode, quoted newlines, dates and duplicates."""
    rng = random.Random(seed)
    cities = ["Zürich", "São Paulo", "Kraków", "東京", "Paris", "", "NULL", "  "]
    lines = ["id,city,amount,when,note"]
    for i in range(rows):
        amount = rng.choice([f"{rng.gauss(100, 15):.2f}", str(rng.randint(-5, 500)), "", "N/A", "9999"])
        when = rng.choice([f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                           f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/2023", ""])
        note = rng.choice(['"a, quoted\nnote"', "plain", "ünïcödé ✓", ""])
        row = [str(i % 700), rng.choice(cities), amount, when, note]
        if i % 97 == 0:
            row = row[:2]  # ragged: a short row
        if i % 131 == 0:
            row = row + ["extra"]  # ragged: a long row
        lines.append(",".join(row))
    lines += lines[1:30]  # exact duplicates
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")


def test_every_statistic_matches_pandas_on_a_generated_file_with_bom_nulls_ragged_rows_and_unicode(tmp_path):
    path = tmp_path / "messy.csv"
    write_messy(path, 3000)
    profile = assert_matches_pandas(path)
    assert profile["bom"] is True
    assert profile["ragged"] is True and profile["ragged_rows"] > 0
    assert profile["duplicate_rows"] >= 29
    city = profile["column_profiles"][1]
    assert city["name"] == "city" and "東京" in city["categories"]


def test_dates_range_and_spellings_match_pandas(tmp_path):
    path = tmp_path / "dates.csv"
    write_messy(path, 2000, seed=5)
    profile = profile_file(path)
    when = profile["column_profiles"][3]
    df = reference(path, True)
    s = df[3]
    iso = pd.to_datetime(s[s.str.fullmatch(r"\d{4}-\d{2}-\d{2}")], format="%Y-%m-%d")
    dmy = pd.to_datetime(s[s.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}")], format="%d/%m/%Y")
    both = pd.concat([iso, dmy])
    assert when["kind"] == "date"
    assert when["dates"]["min"] == both.min().strftime("%Y-%m-%d")
    assert when["dates"]["max"] == both.max().strftime("%Y-%m-%d")
    assert set(when["dates"]["spellings"]) == {"YYYY-NN-NN", "NN/NN/YYYY"}
    assert sum(when["dates"]["spellings"].values()) == len(both)


def test_a_column_past_the_exact_bound_is_estimated_within_the_sketches_error(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "EXACT_VALUES_BUDGET", 2_000)  # 1,000 exact values per column
    rng = random.Random(11)
    path = tmp_path / "wide.csv"
    rows = [f"{i},{rng.lognormvariate(3, 1):.4f},{rng.choice('abcde')}{rng.randint(0, 30)}" for i in range(60_000)]
    path.write_text("id,value,code\n" + "\n".join(rows) + "\n")
    profile = profile_file(path)
    df = reference(path, True)
    ident, value, code = profile["column_profiles"]
    assert not ident["distinct_exact"]
    assert abs(ident["distinct"] - 60_000) / 60_000 < 0.03
    numbers = pd.to_numeric(df[1])
    numeric = value["numeric"]
    assert not numeric["quantiles_exact"]
    assert math.isclose(numeric["mean"], numbers.mean(), rel_tol=1e-9)
    assert math.isclose(numeric["std"], numbers.std(), rel_tol=1e-7)
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        rank = (numbers < numeric["quantiles"][str(q)]).mean()
        assert abs(rank - q) < 0.02, (q, rank)
    outside = numeric["outliers"]
    truth_q1, truth_q3 = numbers.quantile(0.25), numbers.quantile(0.75)
    truth = ((numbers > truth_q3 + 1.5 * (truth_q3 - truth_q1))).sum()
    assert abs(outside["above"] - truth) <= 0.02 * len(numbers)
    assert outside["examples"] and float(outside["examples"][0]) > outside["high_fence"] or outside["examples"]
    counts = df[2].value_counts()
    assert code["distinct_exact"] is True and code["distinct"] == df[2].nunique()
    assert code["top_values"][0]["count"] == counts.max()


def test_hyperloglog_estimates_distinct_values_within_three_percent():
    for n in (10, 1_000, 200_000):
        sketch = HyperLogLog()
        for i in range(n):
            sketch.add(f"value-{i}")
            sketch.add(f"value-{i // 2}")
        assert abs(sketch.estimate() - n) <= max(1, 0.03 * n)


def test_frequent_items_keep_every_heavy_value_with_bounded_error():
    rng = random.Random(2)
    stream = [rng.choice(["x", "y", "z"]) if rng.random() < 0.5 else str(rng.randint(0, 10**6)) for _ in range(50_000)]
    sketch = FrequentItems(64)
    for v in stream:
        sketch.add(v)
    truth = pd.Series(stream).value_counts()
    top = dict(sketch.top(3))
    assert set(top) == {"x", "y", "z"}
    for v, c in top.items():
        assert truth[v] - sketch.error <= c <= truth[v]


def test_quantile_sketch_ranks_are_within_two_percent():
    rng = random.Random(4)
    values = [rng.expovariate(1) for _ in range(100_000)]
    sketch = QuantileSketch()
    sketch.extend(values)
    s = pd.Series(values)
    for q, got in zip((0.01, 0.1, 0.5, 0.9, 0.99), sketch.quantiles((0.01, 0.1, 0.5, 0.9, 0.99)), strict=True):
        assert abs((s < got).mean() - q) < 0.02
    assert sum(len(level) for level in sketch.levels) < 4 * sketch.k  # bounded memory, whatever n


def test_duplicate_rows_are_exact_under_the_bound_and_estimated_past_it():
    rng = random.Random(9)
    rows = [(str(rng.randint(0, 30_000)), "x") for _ in range(60_000)]
    truth = int(pd.DataFrame(rows).duplicated().sum())
    exact = DuplicateCounter(bound=100_000)
    sampled = DuplicateCounter(bound=4_000)
    for r in rows:
        exact.add(r)
        sampled.add(r)
    assert exact.exact and exact.duplicates() == truth
    assert not sampled.exact and abs(sampled.duplicates() - truth) < 0.1 * truth
