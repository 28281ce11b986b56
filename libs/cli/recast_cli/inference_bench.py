"""Inference benchmark: learned scripts on a large CSV, against a bare pyarrow read+write.

Row-local case: generates a CSV of about N MB (id, name, date, amount, city), learns a conversion from a small
train pair of the same shape (uppercase the name, reformat the date, drop a column), renders it, runs it through
the sandbox on the big file, and measures wall time, throughput and the script's peak RSS.

Table-level case: a wide CSV of about N MB (id, city, one column per year) learned as a melt by column (all rows
of the first year, then of the next...), which needs the whole table: the script spools it to temporary files
(recast_engine.runtime.tables._spool), so its peak RSS stays bounded (sandbox memory limit 2 GB).
"""
from __future__ import annotations

import csv
import datetime
import itertools
import random
import sys
import tempfile
from pathlib import Path

from recast_engine.verify.runner import run_learned_script, run_plain

_FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar",
          "peggy", "rupert", "sybil", "trent", "victor", "walter", "yolanda", "zoe"]
_LAST = ["smith", "jones", "brown", "taylor", "wilson", "davies", "evans", "thomas", "johnson", "roberts",
         "walker", "wright", "robinson", "thompson", "white", "hughes", "edwards", "green", "hall", "wood"]
_CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", "Prague", "Warsaw", "Dublin", "Oslo"]
HEADER = ["id", "name", "date", "amount", "city"]


def sample_rows(rng: random.Random, count: int, start_id: int = 1) -> list[list[str]]:
    rows = []
    for i in range(count):
        year, month, day = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
        rows.append([
            str(start_id + i),
            f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            f"{year:04d}-{month:02d}-{day:02d}",
            f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}",
            rng.choice(_CITIES),
        ])
    return rows


# (description, function from an input row to the expected output row), most ambitious first
CONVERSIONS = [
    ("uppercase the name, date yyyy-mm-dd -> dd/mm/yyyy, drop the city",
     lambda r: [r[0], r[1].upper(), f"{r[2][8:10]}/{r[2][5:7]}/{r[2][0:4]}", r[3]]),
    ("uppercase the name, drop the city", lambda r: [r[0], r[1].upper(), r[2], r[3]]),
    ("reorder and drop columns", lambda r: [r[3], r[0], r[1]]),
]
_HEADERS = [["id", "NAME", "date", "amount"], ["id", "NAME", "date", "amount"], ["amount", "id", "name"]]


def generate_big_csv(path: Path, megabytes: int, seed: int = 7) -> int:
    """Write about `megabytes` MB of rows; returns the number of data rows.

    Each column cycles through its own pool with a different stride, so rows do not repeat: 400 names,
    every day of 1990-2029 (14,610 dates), 100,003 amounts, 10 cities.
    """
    rng = random.Random(seed)
    names = [f"{first} {last}" for first in _FIRST for last in _LAST]
    rng.shuffle(names)
    start = datetime.date(1990, 1, 1)
    dates = [(start + datetime.timedelta(days=d)).isoformat() for d in range(14_610)]
    rng.shuffle(dates)
    amounts = [f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}" for _ in range(100_003)]
    target = megabytes * 1024 * 1024
    written, rows, chunk_rows = 0, 0, 50_000
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(HEADER) + "\n")
        while written < target:
            chunk = "".join(
                f"{k + 1},{names[k % 400]},{dates[k * 7 % 14_610]},{amounts[k % 100_003]},{_CITIES[k * 3 % 10]}\n"
                for k in range(rows, rows + chunk_rows)
            )
            f.write(chunk)
            written += len(chunk)
            rows += chunk_rows
    return rows


def learn_script(timeout: float) -> tuple[int, str, list[str]] | None:
    """(index in CONVERSIONS, script source, plan) for the most ambitious conversion the engine learns."""
    from recast_engine.render.script import render_script
    from recast_engine.synthesis.search import learn

    rng = random.Random(11)
    train = [HEADER] + sample_rows(rng, 12)
    for index, ((description, convert), header) in enumerate(zip(CONVERSIONS, _HEADERS)):
        expected = [header] + [convert(r) for r in train[1:]]
        result = learn(train, expected, header="yes", timeout=timeout)
        if result.programs:
            program = result.programs[0]
            return index, render_script(program, title=f"Inference benchmark: {description}"), program.describe()
    return None


def run_inference_bench(megabytes: int = 1024, *, learn_timeout: float = 30.0, workdir: Path | None = None) -> dict:
    """The row-local case's figures, plus the table-level case's under "table_level"."""
    figures = run_row_local_bench(megabytes, learn_timeout=learn_timeout, workdir=workdir)
    figures["table_level"] = run_table_level_bench(megabytes, learn_timeout=learn_timeout, workdir=workdir)
    return figures


def run_row_local_bench(megabytes: int = 1024, *, learn_timeout: float = 30.0, workdir: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="recast-inference-", dir=workdir) as tmp:
        folder = Path(tmp)
        learned = learn_script(learn_timeout)
        if learned is None:
            return {"error": "the engine learned none of the benchmark conversions"}
        index, source, plan = learned
        description = CONVERSIONS[index][0]
        script, big, out, rows, size_mb, run = _convert_big_file(
            folder, source, "big.csv", generate_big_csv, megabytes, description, memory_mb=4096
        )
        spot_check = _spot_check(index, big, out) if run.ok else False
        out.unlink(missing_ok=True)

        print("running pyarrow read_csv + write_csv...", file=sys.stderr)
        baseline_out = folder / "pyarrow.csv"
        code = "import sys, pyarrow.csv as c; c.write_csv(c.read_csv(sys.argv[1]), sys.argv[2])"
        baseline = run_plain(script, big, baseline_out, timeout_seconds=3600, memory_mb=None,
                             argv_prefix=[sys.executable, "-c", code, str(big), str(baseline_out)])
    return {
        "conversion": description,
        "plan": plan,
        "input_mb": round(size_mb, 1),
        "rows": rows,
        "script": _figures(run, size_mb) | {"runner": run.via, "output_spot_check_ok": spot_check},
        "pyarrow": _figures(baseline, size_mb),
        "wall_ratio_script_to_pyarrow": round(run.wall_seconds / baseline.wall_seconds, 2)
        if run.ok and baseline.ok and baseline.wall_seconds else None,
    }


def _convert_big_file(folder: Path, source: str, name: str, generate, megabytes: int, description: str, *,
                      memory_mb: int):
    """Writes the learned script, generates the big input with `generate`, runs the script on it in the sandbox.
    Returns (script, input, output, rows, input MB, run outcome)."""
    script = folder / "script.py"
    script.write_text(source, encoding="utf-8")
    big = folder / name
    print(f"generating {megabytes} MB of CSV ({name})...", file=sys.stderr)
    rows = generate(big, megabytes)
    size_mb = big.stat().st_size / 1024 / 1024
    print(f"running the learned script ({description})...", file=sys.stderr)
    out = folder / "out.csv"
    run = run_learned_script(script, big, out, timeout_seconds=3600, memory_mb=memory_mb)
    return script, big, out, rows, size_mb, run


def _figures(outcome, size_mb: float) -> dict:
    return {
        "ok": outcome.ok,
        "reason": outcome.reason,
        "wall_seconds": round(outcome.wall_seconds, 2),
        "throughput_mb_s": round(size_mb / outcome.wall_seconds, 1) if outcome.wall_seconds else None,
        "peak_rss_mb": round(outcome.peak_rss_mb, 1),
    }


def _spot_check(index: int, big: Path, out: Path, rows: int = 2000) -> bool:
    """The first output rows are the intended conversion of the first input rows (the script generalizes)."""
    with big.open(newline="", encoding="utf-8") as f:
        head = list(itertools.islice(csv.reader(f), rows))
    with out.open(newline="", encoding="utf-8") as f:
        produced = list(itertools.islice(csv.reader(f), rows))
    convert = CONVERSIONS[index][1]
    return produced == [_HEADERS[index]] + [convert(r) for r in head[1:]]


def print_inference(figures: dict, out=sys.stdout) -> None:
    print("\ninference benchmark (row-local)", file=out)
    _print_row_local(figures, out)
    if "table_level" in figures:
        print("\ninference benchmark (table-level)", file=out)
        _print_table_level(figures["table_level"], out)


def _print_row_local(figures: dict, out) -> None:
    if "error" in figures:
        print(f"  {figures['error']}", file=out)
        return
    print(f"  conversion: {figures['conversion']}", file=out)
    print(f"  input: {figures['input_mb']} MB, {figures['rows']:,} rows", file=out)
    for name in ("script", "pyarrow"):
        f = figures[name]
        status = "" if f["ok"] else f"  FAILED: {f['reason']}"
        print(f"  {name:<8} wall {f['wall_seconds']:>8.1f}s  {f['throughput_mb_s'] or 0:>7.1f} MB/s  "
              f"peak RSS {f['peak_rss_mb']:>7.0f} MB{status}", file=out)
    if figures["wall_ratio_script_to_pyarrow"] is not None:
        print(f"  script / pyarrow wall time: {figures['wall_ratio_script_to_pyarrow']}x", file=out)
    print(f"  output spot check: {'ok' if figures['script']['output_spot_check_ok'] else 'MISMATCH'}", file=out)


# Table-level case: wide (id, city, one value column per year) -> long, as pandas.melt orders it.
WIDE_YEARS = ["2021", "2022", "2023"]
WIDE_HEADER = ["id", "city", *WIDE_YEARS]
LONG_HEADER = ["id", "city", "year", "value"]


def wide_rows(start: int, stop: int, amounts: list[str]) -> list[list[str]]:
    """Rows k in [start, stop) of the wide table; every cell is a function of k (the same for any file size)."""
    n = len(amounts)
    return [
        [str(k + 1), _CITIES[k * 3 % 10], amounts[k % n], str(k * 7 % 1000), amounts[(k * 13 + 5) % n]]
        for k in range(start, stop)
    ]


def melt_by_year(wide: list[list[str]]) -> list[list[str]]:
    """The intended conversion (body rows only): every row for the first year, then for the next..."""
    return [[r[0], r[1], year, r[2 + j]] for j, year in enumerate(WIDE_YEARS) for r in wide]


def _amounts() -> list[str]:
    rng = random.Random(5)
    return [f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}" for _ in range(10_007)]


def generate_wide_csv(path: Path, megabytes: int) -> int:
    """Write about `megabytes` MB of the wide table; returns the number of data rows."""
    amounts, target = _amounts(), megabytes * 1024 * 1024
    written, rows, chunk_rows = 0, 0, 50_000
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(WIDE_HEADER) + "\n")
        while written < target:
            chunk = "".join(",".join(r) + "\n" for r in wide_rows(rows, rows + chunk_rows, amounts))
            f.write(chunk)
            written += len(chunk)
            rows += chunk_rows
    return rows


def learn_melt_script(timeout: float) -> tuple[str, list[str]] | None:
    from recast_engine.render.script import render_script
    from recast_engine.synthesis.search import learn

    train_wide = wide_rows(0, 12, _amounts())
    result = learn([WIDE_HEADER] + train_wide, [LONG_HEADER] + melt_by_year(train_wide), header="yes",
                   timeout=timeout)
    if not result.programs:
        return None
    program = result.programs[0]
    return render_script(program, title="Inference benchmark: wide to long by year"), program.describe()


def run_table_level_bench(
    megabytes: int = 1024, *, learn_timeout: float = 30.0, workdir: Path | None = None, memory_mb: int = 2048
) -> dict:
    with tempfile.TemporaryDirectory(prefix="recast-inference-table-", dir=workdir) as tmp:
        folder = Path(tmp)
        learned = learn_melt_script(learn_timeout)
        if learned is None:
            return {"error": "the engine did not learn the wide-to-long benchmark conversion"}
        source, plan = learned
        _, _, out, rows, size_mb, run = _convert_big_file(
            folder, source, "wide.csv", generate_wide_csv, megabytes, "table-level: wide to long", memory_mb=memory_mb
        )
        output_mb = out.stat().st_size / 1024 / 1024 if out.exists() else 0.0
        spot_check = _melt_spot_check(out, rows) if run.ok else False
        leftovers = sorted(p.name for p in folder.iterdir() if p.name not in {"script.py", "wide.csv", "out.csv"})
    return {
        "conversion": "wide to long by year (melt by column: needs the whole table)",
        "plan": plan,
        "input_mb": round(size_mb, 1),
        "output_mb": round(output_mb, 1),
        "rows": rows,
        "memory_limit_mb": memory_mb,
        "script": _figures(run, size_mb) | {"runner": run.via, "output_spot_check_ok": spot_check},
        "files_left_in_script_folder": leftovers,
    }


def _melt_spot_check(out: Path, rows: int, per_block: int = 1000) -> bool:
    """One pass over the output: the row count, the header, and the first rows of every year's block."""
    amounts = _amounts()
    head = wide_rows(0, per_block, amounts)
    expected = {}
    for j, year in enumerate(WIDE_YEARS):
        for i, r in enumerate(head):
            expected[1 + j * rows + i] = [r[0], r[1], year, r[2 + j]]
    count = 0
    with out.open(newline="", encoding="utf-8") as f:
        for index, row in enumerate(csv.reader(f)):
            count += 1
            if index == 0 and row != LONG_HEADER:
                return False
            if index in expected and row != expected[index]:
                return False
    return count == 1 + rows * len(WIDE_YEARS)


def _print_table_level(figures: dict, out) -> None:
    if "error" in figures:
        print(f"  {figures['error']}", file=out)
        return
    print(f"  conversion: {figures['conversion']}", file=out)
    print(f"  input: {figures['input_mb']} MB, {figures['rows']:,} rows; output {figures['output_mb']} MB", file=out)
    f = figures["script"]
    status = "" if f["ok"] else f"  FAILED: {f['reason']}"
    print(f"  {'script':<8} wall {f['wall_seconds']:>8.1f}s  {f['throughput_mb_s'] or 0:>7.1f} MB/s  "
          f"peak RSS {f['peak_rss_mb']:>7.0f} MB (limit {figures['memory_limit_mb']} MB){status}", file=out)
    print(f"  output spot check: {'ok' if f['output_spot_check_ok'] else 'MISMATCH'}", file=out)
    if figures["files_left_in_script_folder"]:
        print(f"  temporary files left behind: {figures['files_left_in_script_folder']}", file=out)
