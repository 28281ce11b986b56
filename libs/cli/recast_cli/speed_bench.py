"""Inference speed: learned scripts (vectorized and per-cell) against DuckDB and a bare pyarrow read+write.

On one generated CSV (about 1 GB by default: id, name, date, amount, city, qty), for each conversion of
CONVERSIONS the engine learns a program from a 12-row train pair; its per-cell and vectorized scripts, the same
conversion written by hand as a DuckDB `COPY (SELECT ...)` and a pyarrow read_csv + write_csv of the input run as
subprocesses one after the other, each timed (MB/s of input) with its peak RSS. DuckDB is not a dependency of
Recast: `pip install -e '.[bench]'` (make bench does) or it is reported missing.

Also here: the render check of `make bench` for the vectorized backend (`vectorized_differs`).
"""
from __future__ import annotations

import csv
import filecmp
import itertools
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from recast_engine.dsl import Program
from recast_engine.verify.runner import run_plain

CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", "Prague", "Warsaw", "Dublin", "Oslo"]
_FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar",
          "peggy", "rupert", "sybil", "trent", "victor", "walter", "yolanda", "zoe"]
_LAST = ["smith", "jones", "brown", "taylor", "wilson", "davies", "evans", "thomas", "johnson", "roberts"]
HEADER = ["id", "name", "date", "amount", "city", "qty"]


def checked_vectorized_script(program: Program, title: str = "") -> str:
    """The vectorized script as the render check runs it: every input by record batches, since the benchmarks'
    files are smaller than VECTORIZE_FROM_BYTES, under which the script otherwise converts row by row."""
    from recast_engine.render.arrow import render_vectorized

    return render_vectorized(program, title=title, vectorize_from_bytes=0)


def vectorized_differs(program: Program, input_path: Path, per_cell_output: Path, *, title: str = "",
                       timeout_seconds: float = 60.0) -> bool | None:
    """Whether the program's vectorized script writes other bytes than its per-cell script did (per_cell_output)
    on this input; None when the program is not vectorizable."""
    from recast_engine.render.arrow import vectorizable

    if not vectorizable(program):
        return None
    with tempfile.TemporaryDirectory(prefix="recast-vectorized-") as tmp:
        script = Path(tmp) / "vectorized.py"
        script.write_text(checked_vectorized_script(program, title), encoding="utf-8")
        output = Path(tmp) / "output.csv"
        outcome = run_plain(script, input_path, output, timeout_seconds=timeout_seconds)
        return not (outcome.ok and filecmp.cmp(output, per_cell_output, shallow=False))


# ---------------------------------------------------------------------------------------------------------
# The conversions: a train pair to learn from, and the same conversion in DuckDB's SQL
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Conversion:
    name: str
    description: str
    header: list[str]
    convert: Callable[[list[list[str]]], list[list[str]]]  # the intended conversion of body rows (train rows)
    duckdb_select: str  # the same conversion by hand: SELECT ... FROM source (the columns are all VARCHAR)
    streams: bool = True  # each output row comes from one input row, in order (the output's head is checkable)
    # throughput against DuckDB's and peak RSS the learned vectorized script is to reach (issue #15)
    target_ratio: float | None = None
    target_rss_mb: float | None = None


def _row_local(rows: list[list[str]]) -> list[list[str]]:
    return [[r[0], r[1].upper(), f"{r[2][8:10]}/{r[2][5:7]}/{r[2][0:4]}", f"{Decimal(r[3]):,}"] for r in rows]


def _select_rename(rows: list[list[str]]) -> list[list[str]]:
    return [[r[1], r[3], r[0]] for r in rows]


def _filter_arithmetic(rows: list[list[str]]) -> list[list[str]]:
    return [[r[0], r[4], f"{Decimal(r[3]) * int(r[5]):.2f}"] for r in rows if r[5]]


def _group_by(rows: list[list[str]]) -> list[list[str]]:
    totals: dict[str, Decimal] = {}
    for r in rows:
        totals[r[4]] = totals.get(r[4], Decimal(0)) + Decimal(r[3])
    return [[city, f"{total}"] for city, total in totals.items()]


def _sort(rows: list[list[str]]) -> list[list[str]]:
    return sorted(rows, key=lambda r: -Decimal(r[3]))


CONVERSIONS = [
    Conversion(
        "row-local", "uppercase the name, date yyyy-mm-dd -> dd/mm/yyyy, amount with thousands separators, drop "
        "city and qty", ["id", "NAME", "date", "amount"], _row_local,
        "SELECT id, upper(name) AS \"NAME\", strftime(strptime(date, '%Y-%m-%d'), '%d/%m/%Y') AS date, "
        "format('{:,.2f}', CAST(amount AS DOUBLE)) AS amount FROM source",
        target_ratio=0.5, target_rss_mb=1024,
    ),
    Conversion(
        "select + rename", "name as customer, amount, id (columns chosen, reordered, renamed)",
        ["customer", "amount", "id"], _select_rename,
        "SELECT name AS customer, amount, id FROM source",
        target_ratio=0.5, target_rss_mb=1024,
    ),
    Conversion(
        "filter + arithmetic", "rows with a qty, total = amount x qty (2 decimals)",
        ["id", "city", "total"], _filter_arithmetic,
        "SELECT id, city, CAST(amount AS DECIMAL(18, 2)) * CAST(qty AS INTEGER) AS total FROM source "
        "WHERE trim(qty) <> ''",
        target_ratio=0.5, target_rss_mb=1024,
    ),
    Conversion(
        "group-by", "total amount per city, cities in order of first appearance",
        ["city", "amount"], _group_by,
        "SELECT city, sum(CAST(amount AS DECIMAL(18, 2))) AS amount FROM source GROUP BY city",
        streams=False, target_ratio=0.3,
    ),
    Conversion(
        "sort", "the rows by amount (a number), largest first",
        HEADER, _sort,
        "SELECT * FROM source ORDER BY CAST(amount AS DECIMAL(18, 2)) DESC",
        streams=False,
    ),
]


def sample_rows(rng: random.Random, count: int, start: int = 0) -> list[list[str]]:
    rows = []
    for k in range(start, start + count):
        year, month, day = rng.randint(1990, 2029), rng.randint(1, 12), rng.randint(1, 28)
        rows.append([str(k + 1), f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", f"{year:04d}-{month:02d}-{day:02d}",
                     f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}", rng.choice(CITIES),
                     "" if k % 4 == 3 else str(rng.randint(1, 9))])
    return rows


def generate_csv(path: Path, megabytes: int, seed: int = 7) -> int:
    """About `megabytes` MB of rows like sample_rows (every 4th qty empty); returns the number of data rows."""
    rng = random.Random(seed)
    pool = sample_rows(rng, 100_003)
    target, written, rows, chunk = megabytes * 1024 * 1024, 0, 0, 10_000
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(HEADER) + "\n")
        while written < target:
            text = "".join(
                f"{k + 1},{r[1]},{r[2]},{r[3]},{r[4]},{'' if k % 4 == 3 else r[5] or '1'}\n"
                for k in range(rows, rows + chunk) for r in (pool[k * 7 % 100_003],)
            )
            f.write(text)
            written += len(text)
            rows += chunk
    return rows


def learn_conversion(conversion: Conversion, timeout: float) -> Program | None:
    """The program the engine learns from the conversion's 12-row example pair (None: not learned)."""
    from recast_engine.synthesis.search import learn

    train = sample_rows(random.Random(11), 12)
    result = learn([HEADER] + train, [conversion.header] + conversion.convert(train), header="yes", timeout=timeout)
    return result.programs[0] if result.programs else None


# ---------------------------------------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Timed:
    ok: bool
    reason: str
    wall_seconds: float
    cpu_seconds: float  # user + system, all threads: steadier than wall time on a shared machine
    peak_rss_mb: float
    load_1m: float = 0.0  # the machine's load average when the run started (it is shared)


def run_timed(command: list[str], timeout_seconds: float = 3600) -> Timed:
    """Run a command to its end; wall time, CPU time and peak RSS from the kernel's accounting (wait4)."""
    load = round(os.getloadavg()[0], 1)
    start = time.monotonic()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timer = threading.Timer(timeout_seconds, process.kill)
    timer.start()
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
    reader.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    reader.join(5)
    code = os.waitstatus_to_exitcode(status)
    tail = b"".join(errors)[-300:].decode("utf-8", "replace").strip()
    return Timed(code == 0, "ok" if code == 0 else f"exit code {code}: {tail}", time.monotonic() - start,
                 usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, load)


def _figures(outcome: Timed | None, size_mb: float, **extra: Any) -> dict:
    if outcome is None:
        return {"ok": False, **extra}
    return {
        "ok": outcome.ok,
        "reason": outcome.reason,
        "wall_seconds": round(outcome.wall_seconds, 2),
        "cpu_seconds": round(outcome.cpu_seconds, 2),
        "mb_s": round(size_mb / outcome.wall_seconds, 1) if outcome.ok and outcome.wall_seconds else None,
        "peak_rss_mb": round(outcome.peak_rss_mb, 1),
        "load_1m": outcome.load_1m,
        **extra,
    }


def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


_DUCKDB = """
import sys, duckdb
source, target, select = sys.argv[1:]
con = duckdb.connect()
con.execute("CREATE VIEW source AS SELECT * FROM read_csv(" + repr(source) + ", header=true, all_varchar=true)")
con.execute("COPY (" + select + ") TO " + repr(target) + " (HEADER)")
"""


def _duckdb_command(select: str, source: Path, target: Path) -> list[str]:
    return [sys.executable, "-c", _DUCKDB, str(source), str(target), select]


def run_speed_bench(megabytes: int = 1024, *, learn_timeout: float = 120.0, workdir: Path | None = None,
                    conversions: list[str] | None = None, per_cell: bool = False, repeat: int = 1) -> dict:
    """Every runner of every conversion on one generated file of `megabytes` MB. DuckDB and the vectorized script
    run back to back, `repeat` times in turn (the best run of each counts: the machine may be shared); the per-cell
    script (slow) once, when per_cell, or when the program has no vectorized form."""
    report: dict = {"cases": [], "per_cell": per_cell, "repeat": repeat, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="recast-speed-", dir=workdir) as tmp:
        folder = Path(tmp)
        big = folder / "input.csv"
        print(f"speed bench: generating {megabytes} MB of CSV...", file=sys.stderr)
        report["rows"] = generate_csv(big, megabytes)
        size_mb = big.stat().st_size / 1024 / 1024
        report["input_mb"] = round(size_mb, 1)
        code = "import sys, pyarrow.csv as c; c.write_csv(c.read_csv(sys.argv[1]), sys.argv[2])"
        baseline = [sys.executable, "-c", code, str(big), str(folder / "pyarrow.csv")]
        report["pyarrow"] = _figures(_best_of(repeat, "pyarrow read+write", baseline, folder / "pyarrow.csv"), size_mb)
        for conversion in CONVERSIONS:
            if not conversions or conversion.name in conversions:
                report["cases"].append(_run_case(conversion, big, size_mb, folder, learn_timeout, per_cell, repeat))
    return report


def _run_case(conversion: Conversion, big: Path, size_mb: float, folder: Path, learn_timeout: float, per_cell: bool,
              repeat: int) -> dict:
    from recast_engine.render.arrow import kernel_coverage, vectorizable
    from recast_engine.render.script import render_script

    case: dict = {"name": conversion.name, "description": conversion.description}
    started = time.monotonic()
    program = learn_conversion(conversion, learn_timeout)
    case["learn_seconds"] = round(time.monotonic() - started, 2)
    case["learned"] = program.describe() if program is not None else None
    has_duckdb = duckdb_available()
    if not has_duckdb:
        case["duckdb"] = _figures(None, size_mb, reason="duckdb not installed (pip install -e '.[bench]')")
    runners: dict[str, tuple[list[str], Path]] = {}
    if has_duckdb:
        target = folder / "duckdb.csv"
        runners["duckdb"] = (_duckdb_command(conversion.duckdb_select, big, target), target)
    if program is not None:
        backends = ["arrow"] if vectorizable(program) else []
        if per_cell or not backends:
            backends.append("cell")
        for backend in backends:
            key = "vectorized" if backend == "arrow" else "per_cell"
            script = folder / f"{key}.py"
            script.write_text(render_script(program, title=conversion.description, backend=backend))
            runners[key] = ([sys.executable, str(script), str(big), str(folder / f"{key}.csv")], folder / f"{key}.csv")
        if "vectorized" in runners:
            case["kernel_columns"] = "{}/{}".format(*kernel_coverage(program))
        else:
            case["vectorized"] = _figures(None, size_mb, reason="no vectorized form (table steps)")
    # DuckDB and the learned script in turn, round after round: both meet the same load
    alternating = [key for key in runners if key != "per_cell" or "vectorized" not in runners]
    best = _best_rounds({key: runners[key] for key in alternating}, repeat, conversion.name)
    if "per_cell" in runners and "per_cell" not in best:
        best |= _best_rounds({"per_cell": runners["per_cell"]}, 1, conversion.name)
    for key, outcome in best.items():
        case[key] = _figures(outcome, size_mb)
    runners.pop("duckdb", None)
    outputs = {key: output for key, (_, output) in runners.items() if output.exists()}
    if len(outputs) == 2:
        case["same_bytes_as_per_cell"] = filecmp.cmp(outputs["per_cell"], outputs["vectorized"], shallow=False)
    produced = outputs.get("vectorized", outputs.get("per_cell"))
    if conversion.streams and produced is not None:
        case["head_as_intended"] = _head_as_intended(conversion, big, produced)
    for path in outputs.values():
        path.unlink()
    for key in ("vectorized", "per_cell"):
        mine, theirs = case.get(key, {}), case.get("duckdb", {})
        if mine.get("mb_s") and theirs.get("mb_s"):
            case[f"{key}_to_duckdb"] = round(mine["mb_s"] / theirs["mb_s"], 2)
            case[f"{key}_to_duckdb_cpu"] = round(theirs["cpu_seconds"] / max(mine["cpu_seconds"], 0.01), 2)
    if conversion.target_ratio is not None:
        case["target"] = _target(conversion, case)
    return case


def _best_of(rounds: int, label: str, command: list[str], output: Path) -> Timed:
    """The fastest of `rounds` runs of one command (its output removed)."""
    return _best_rounds({label: (command, output)}, rounds, "")[label]


def _best_rounds(runners: dict[str, tuple[list[str], Path]], rounds: int, name: str) -> dict[str, Timed]:
    """Each runner's fastest run over `rounds` rounds, the runners one after the other in each round; a failed run
    counts as it is. The last output of a learned script stays (for the checks), DuckDB's is removed."""
    best: dict[str, Timed] = {}
    for round_number in range(rounds):
        for key, (command, output) in runners.items():
            if key in best and not best[key].ok:
                continue
            counter = f" (run {round_number + 1}/{rounds})" if rounds > 1 else ""
            print(f"speed bench: {name + ': ' if name else ''}{key}{counter}...", file=sys.stderr)
            output.unlink(missing_ok=True)
            outcome = run_timed(command)
            if key not in best or not outcome.ok or outcome.wall_seconds < best[key].wall_seconds:
                best[key] = outcome
            if key in ("duckdb", "pyarrow read+write") or name == "":
                output.unlink(missing_ok=True)
    return best


def _target(conversion: Conversion, case: dict) -> dict:
    ratio = case.get("vectorized_to_duckdb", case.get("per_cell_to_duckdb"))
    runner = case.get("vectorized") if case.get("vectorized", {}).get("ok") else case.get("per_cell", {})
    rss = (runner or {}).get("peak_rss_mb")
    met = ratio is not None and conversion.target_ratio is not None and ratio >= conversion.target_ratio
    if conversion.target_rss_mb is not None:
        met = met and rss is not None and rss < conversion.target_rss_mb
    return {"ratio": conversion.target_ratio, "rss_mb": conversion.target_rss_mb, "met": met}


def _head_as_intended(conversion: Conversion, source: Path, output: Path, rows: int = 2000) -> bool:
    """The output's first rows are the intended conversion of the input's first rows (the program generalizes)."""
    with source.open(newline="", encoding="utf-8") as f:
        head = list(itertools.islice(csv.reader(f), rows + 1))
    expected = [conversion.header] + conversion.convert(head[1:])
    with output.open(newline="", encoding="utf-8") as f:
        produced = list(itertools.islice(csv.reader(f), len(expected)))
    return produced == expected


def print_speed(report: dict, out: TextIO | None = None) -> None:
    """The table: x duckdb is the throughput ratio (wall), cpu x duckdb the ratio of CPU seconds (steadier when
    the machine is shared); load is the 1-minute load average when the run started."""
    out = out or sys.stdout
    runs = f"best of {report['repeat']} runs" if report.get("repeat", 1) > 1 else "one run each"
    print(f"\ninference speed ({report['input_mb']} MB, {report['rows']:,} rows; MB/s of input; {runs}; "
          f"{report.get('cpus')} CPUs)", file=out)
    print(f"  {'case':<20}{'runner':<22}{'wall s':>8}{'MB/s':>7}{'x duckdb':>9}{'cpu s':>8}{'cpu x duckdb':>13}"
          f"{'peak RSS MB':>12}{'load':>6}", file=out)
    _print_row("(any)", "pyarrow read+write", report["pyarrow"], None, None, out)
    for case in report["cases"]:
        if case["learned"] is None:
            print(f"  {case['name']:<20}{'learned':<22}  the engine did not learn it from the example", file=out)
        else:
            print(f"  {case['name']:<20}learned in {case['learn_seconds']:.1f} s from a 12-row example: "
                  + "; ".join(case["learned"])[:140], file=out)
        for key, label in (("vectorized", "learned (vectorized)"), ("per_cell", "learned (per-cell)"),
                           ("duckdb", "duckdb")):
            if key in case:
                _print_row(case["name"], label, case[key], case.get(f"{key}_to_duckdb"),
                           case.get(f"{key}_to_duckdb_cpu"), out)
        checks = []
        if "kernel_columns" in case:
            checks.append(f"kernels for {case['kernel_columns']} output columns")
        if "same_bytes_as_per_cell" in case:
            checks.append("same bytes as per-cell" if case["same_bytes_as_per_cell"] else "BYTES DIFFER FROM PER-CELL")
        if "head_as_intended" in case:
            checks.append("output head as intended" if case["head_as_intended"] else "OUTPUT HEAD NOT AS INTENDED")
        if "target" in case:
            target = case["target"]
            wanted = f">= {target['ratio']}x duckdb" + (f", peak RSS < {target['rss_mb']} MB" if target["rss_mb"]
                                                        else "")
            checks.append(f"target {wanted}: {'met' if target['met'] else 'MISSED'}")
        if checks:
            print(f"  {'':<20}{'':<22}  " + "; ".join(checks), file=out)


def _print_row(name: str, label: str, figures: dict, ratio: float | None, cpu_ratio: float | None,
               out: TextIO) -> None:
    if not figures.get("ok"):
        print(f"  {name:<20}{label:<22}  {figures.get('reason', 'failed')}", file=out)
        return
    ratio_text = f"{ratio:.2f}" if ratio is not None else ""
    cpu_text = f"{cpu_ratio:.2f}" if cpu_ratio is not None else ""
    print(f"  {name:<20}{label:<22}{figures['wall_seconds']:>8.1f}{figures['mb_s']:>7.1f}{ratio_text:>9}"
          f"{figures['cpu_seconds']:>8.1f}{cpu_text:>13}{figures['peak_rss_mb']:>12.0f}"
          f"{figures.get('load_1m', 0):>6.1f}", file=out)
