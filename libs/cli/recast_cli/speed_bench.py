"""Inference speed: learned scripts (vectorized and per-cell) against DuckDB and a bare pyarrow read+write.

On one generated CSV (about 1 GB by default: id, name, date, amount, city, qty), for each conversion of
CONVERSIONS the engine learns a program from a 12-row train pair; its per-cell and vectorized scripts, the same
conversion written by hand as a DuckDB `COPY (SELECT ...)` and a pyarrow read_csv + write_csv of the input run as
subprocesses one after the other, each timed (MB/s of input) with its peak RSS. DuckDB is not a dependency of
Recast: `pip install -e '.[bench]'` (make bench does) or it is reported missing.

Also here: the render check of `make bench` for the vectorized backend (`vectorized_differs`).
"""
from __future__ import annotations

import filecmp
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from recast_engine.dsl import Program
from recast_engine.verify.runner import run_plain

CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", "Prague", "Warsaw", "Dublin", "Oslo"]
_FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar",
          "peggy", "rupert", "sybil", "trent", "victor", "walter", "yolanda", "zoe"]
_LAST = ["smith", "jones", "brown", "taylor", "wilson", "davies", "evans", "thomas", "johnson", "roberts"]
HEADER = ["id", "name", "date", "amount", "city", "qty"]


def vectorized_differs(program: Program, input_path: Path, per_cell_output: Path, *, title: str = "",
                       timeout_seconds: float = 60.0) -> bool | None:
    """Whether the program's vectorized script writes other bytes than its per-cell script did (per_cell_output)
    on this input; None when the program is not vectorizable."""
    from recast_engine.render.arrow import vectorizable
    from recast_engine.render.script import render_script

    if not vectorizable(program):
        return None
    with tempfile.TemporaryDirectory(prefix="recast-vectorized-") as tmp:
        script = Path(tmp) / "vectorized.py"
        script.write_text(render_script(program, title=title, backend="arrow"), encoding="utf-8")
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
    convert: object  # body rows in -> body rows out (the intended conversion, on the train rows)
    duckdb_select: str  # SELECT ... FROM source (the columns are all VARCHAR)
    # (general instructions, column instructions): the program is built from them when the example is not learned
    instructions: tuple[str, dict[str, str]] | None = None


def _row_local(rows):
    return [[r[0], r[1].upper(), f"{r[2][8:10]}/{r[2][5:7]}/{r[2][0:4]}", r[3]] for r in rows]


def _filter_arithmetic(rows):
    return [[r[0], r[4], f"{float(r[3]) * int(r[5]):.2f}"] for r in rows if r[5]]


def _group_by(rows):
    totals: dict[str, float] = {}
    for r in rows:
        totals[r[4]] = totals.get(r[4], 0.0) + float(r[3])
    return [[city, f"{total:.2f}"] for city, total in totals.items()]


CONVERSIONS = [
    Conversion(
        "row-local", "uppercase the name, date yyyy-mm-dd -> dd/mm/yyyy, drop city and qty",
        ["id", "NAME", "date", "amount"], _row_local,
        "SELECT id, upper(name) AS \"NAME\", strftime(strptime(date, '%Y-%m-%d'), '%d/%m/%Y') AS date, amount "
        "FROM source",
    ),
    Conversion(
        "filter + arithmetic", "rows with a qty, total = amount x qty (2 decimals)",
        ["id", "city", "total"], _filter_arithmetic,
        "SELECT id, city, CAST(amount AS DECIMAL(18, 2)) * CAST(qty AS INTEGER) AS total FROM source "
        "WHERE trim(qty) <> ''",
        ("keep only rows where qty is not blank",
         {"total": "amount * qty", "name": "drop", "date": "drop", "amount": "drop", "qty": "drop"}),
    ),
    Conversion(
        "group-by", "total amount per city, cities in order",
        ["city", "amount"], _group_by,
        "SELECT city, sum(CAST(amount AS DOUBLE)) AS amount FROM source GROUP BY city",
        ("sum of amount per city", {}),
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


def learn_conversion(conversion: Conversion, timeout: float) -> tuple[Program | None, str]:
    """(the program, how the engine got it): learned from the conversion's 12-row example pair, else built from its
    instructions when it has some (as a user would state a filter or a group-by)."""
    from recast_engine.instructions import read_instructions
    from recast_engine.instructions.compile import CompileError, compile_program
    from recast_engine.synthesis.search import learn

    train = sample_rows(random.Random(11), 12)
    result = learn([HEADER] + train, [conversion.header] + conversion.convert(train), header="yes", timeout=timeout)
    if result.programs:
        return result.programs[0], "example"
    if conversion.instructions:
        try:
            read = read_instructions(*conversion.instructions)
            return compile_program(read, [HEADER] + train, conversion.header), "instructions"
        except CompileError:
            return None, ""
    return None, ""


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


def run_timed(command: list[str], timeout_seconds: float = 3600) -> Timed:
    """Run a command to its end; wall time, CPU time and peak RSS from the kernel's accounting (wait4)."""
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
                 usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def _figures(outcome: Timed | None, size_mb: float, **extra) -> dict:
    if outcome is None:
        return {"ok": False, **extra}
    return {
        "ok": outcome.ok,
        "reason": outcome.reason,
        "wall_seconds": round(outcome.wall_seconds, 2),
        "cpu_seconds": round(outcome.cpu_seconds, 2),
        "mb_s": round(size_mb / outcome.wall_seconds, 1) if outcome.ok and outcome.wall_seconds else None,
        "peak_rss_mb": round(outcome.peak_rss_mb, 1),
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
                    conversions: list[str] | None = None, per_cell: bool = True) -> dict:
    from recast_engine.render.arrow import kernel_coverage, vectorizable
    from recast_engine.render.script import render_script

    report: dict = {"cases": []}
    with tempfile.TemporaryDirectory(prefix="recast-speed-", dir=workdir) as tmp:
        folder = Path(tmp)
        big = folder / "input.csv"
        print(f"speed bench: generating {megabytes} MB of CSV...", file=sys.stderr)
        report["rows"] = generate_csv(big, megabytes)
        size_mb = big.stat().st_size / 1024 / 1024
        report["input_mb"] = round(size_mb, 1)

        def run(label: str, command: list[str]) -> Timed:
            print(f"speed bench: {label}...", file=sys.stderr)
            (folder / "output.csv").unlink(missing_ok=True)
            return run_timed(command)

        code = "import sys, pyarrow.csv as c; c.write_csv(c.read_csv(sys.argv[1]), sys.argv[2])"
        baseline = run("pyarrow read+write", [sys.executable, "-c", code, str(big), str(folder / "output.csv")])
        report["pyarrow"] = _figures(baseline, size_mb)
        has_duckdb = duckdb_available()
        for conversion in CONVERSIONS:
            if conversions and conversion.name not in conversions:
                continue
            case: dict = {"name": conversion.name, "description": conversion.description}
            report["cases"].append(case)
            program, learned_from = learn_conversion(conversion, learn_timeout)
            if program is None:
                case["learned"] = None
            else:
                case["learned"] = program.describe()
                case["learned_from"] = learned_from
                outputs = {}
                for backend in ("cell", "arrow") if per_cell else ("arrow",):
                    key = "vectorized" if backend == "arrow" else "per_cell"
                    if backend == "arrow" and not vectorizable(program):
                        case[key] = _figures(None, size_mb, reason="not vectorizable (table steps)")
                        continue
                    script = folder / f"{backend}.py"
                    script.write_text(render_script(program, title=conversion.description, backend=backend))
                    outcome = run(f"{conversion.name}: learned ({key})",
                                  [sys.executable, str(script), str(big), str(folder / "output.csv")])
                    case[key] = _figures(outcome, size_mb)
                    if outcome.ok:
                        outputs[key] = (folder / "output.csv").replace(folder / f"{key}.csv")
                if len(outputs) == 2:
                    case["vectorized"]["same_bytes_as_per_cell"] = filecmp.cmp(
                        outputs["per_cell"], outputs["vectorized"], shallow=False)
                    case["vectorized"]["kernel_columns"] = "{}/{}".format(*kernel_coverage(program))
                for path in outputs.values():
                    path.unlink()
            if has_duckdb:
                outcome = run(f"{conversion.name}: duckdb", _duckdb_command(conversion.duckdb_select, big,
                                                                             folder / "output.csv"))
                case["duckdb"] = _figures(outcome, size_mb)
            else:
                case["duckdb"] = _figures(None, size_mb, reason="duckdb not installed (pip install -e '.[bench]')")
            for key in ("vectorized", "per_cell", "pyarrow"):
                mine = report["pyarrow"] if key == "pyarrow" else case.get(key, {})
                if mine.get("mb_s") and case["duckdb"].get("mb_s"):
                    case[f"{key}_to_duckdb"] = round(mine["mb_s"] / case["duckdb"]["mb_s"], 2)
                    case[f"{key}_to_duckdb_cpu"] = round(case["duckdb"]["cpu_seconds"] / max(mine["cpu_seconds"],
                                                                                             0.01), 2)
    return report


def print_speed(report: dict, out=None) -> None:
    """The table: x duckdb is the throughput ratio (wall), cpu x duckdb the ratio of CPU seconds (steadier when
    the machine is shared)."""
    out = out or sys.stdout
    print(f"\ninference speed ({report['input_mb']} MB, {report['rows']:,} rows; MB/s of input)", file=out)
    print(f"  {'case':<20}{'runner':<22}{'wall s':>8}{'MB/s':>7}{'x duckdb':>9}{'cpu s':>8}{'cpu x duckdb':>13}"
          f"{'peak RSS MB':>12}", file=out)
    _print_row("(any)", "pyarrow read+write", report["pyarrow"], None, None, out)
    for case in report["cases"]:
        if case["learned"] is None:
            print(f"  {case['name']:<20}{'learned':<22}  the engine did not learn it", file=out)
        else:
            print(f"  {case['name']:<20}program (from its {case['learned_from']}): "
                  + "; ".join(case["learned"])[:150], file=out)
        for key, label in (("vectorized", "learned (vectorized)"), ("per_cell", "learned (per-cell)"),
                           ("duckdb", "duckdb")):
            if key in case:
                _print_row(case["name"], label, case[key], case.get(f"{key}_to_duckdb"),
                           case.get(f"{key}_to_duckdb_cpu"), out)


def _print_row(name: str, label: str, figures: dict, ratio: float | None, cpu_ratio: float | None, out) -> None:
    if not figures.get("ok"):
        print(f"  {name:<20}{label:<22}  {figures.get('reason', 'failed')}", file=out)
        return
    ratio_text = f"{ratio:.2f}" if ratio is not None else ""
    cpu_text = f"{cpu_ratio:.2f}" if cpu_ratio is not None else ""
    note = ""
    if "same_bytes_as_per_cell" in figures:
        same = "same bytes" if figures["same_bytes_as_per_cell"] else "BYTES DIFFER from per-cell"
        note = f"  kernels {figures['kernel_columns']} columns, {same}"
    print(f"  {name:<20}{label:<22}{figures['wall_seconds']:>8.1f}{figures['mb_s']:>7.1f}{ratio_text:>9}"
          f"{figures['cpu_seconds']:>8.1f}{cpu_text:>13}{figures['peak_rss_mb']:>12.0f}{note}", file=out)
