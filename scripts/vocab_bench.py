"""Score the engine on the realworld / sql suites (or any suite) by the interpreter, until the bench knows them.

    .venv/bin/python scripts/vocab_bench.py realworld [sql ...] [--only NAME] [--timeout 20] [--jobs 1] [-v]

Learns each task's train pair with recast_engine.synthesis.search.learn and runs the best program on the test pair
(the train pair when there is none) with the reference interpreter. meta.json "unordered": true compares the data
rows as a multiset (the header row still first).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"


def _read(path: Path) -> list[list[str]]:
    from recast_engine.csvgrid import read_grid

    return read_grid(path)


def _same(actual, expected, header: bool, unordered: bool) -> bool:
    if not unordered:
        return actual == expected
    skip = 1 if header else 0
    return actual[:skip] == expected[:skip] and Counter(map(tuple, actual[skip:])) == Counter(
        map(tuple, expected[skip:])
    )


def run_task(folder: Path, timeout: float) -> dict:
    from recast_engine.dsl.interpret import run
    from recast_engine.synthesis.search import learn

    meta = json.loads((folder / "meta.json").read_text())
    header = bool(meta.get("header"))
    unordered = bool(meta.get("unordered"))
    train_in, train_out = _read(folder / "train_input.csv"), _read(folder / "train_expected.csv")
    if (folder / "test_input.csv").exists():
        test_in, test_out = _read(folder / "test_input.csv"), _read(folder / "test_expected.csv")
    else:
        test_in, test_out = train_in, train_out
    start = time.monotonic()
    try:
        result = learn(train_in, train_out, header="yes" if header else "no", timeout=timeout)
    except Exception as e:  # noqa: BLE001
        return {"name": folder.name, "solved": False, "seconds": time.monotonic() - start, "why": f"raised {e!r}"}
    seconds = time.monotonic() - start
    if not result.programs:
        return {"name": folder.name, "solved": False, "seconds": seconds,
                "why": "none: " + "; ".join(result.unexplained)[:150]}
    program = result.programs[0]
    try:
        got = run(program, test_in)
    except Exception as e:  # noqa: BLE001
        return {"name": folder.name, "solved": False, "seconds": seconds, "why": f"run raised {e!r}",
                "program": program.describe()}
    ok = _same(got, test_out, header, unordered)
    why = "solved" if ok else f"wrong test output ({len(got)} rows, expected {len(test_out)})"
    return {"name": folder.name, "solved": ok, "seconds": seconds, "why": why, "program": program.describe()}


def _worker(args):
    folder, timeout = args
    return run_task(Path(folder), timeout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("suites", nargs="+")
    parser.add_argument("--only", action="append")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--programs", action="store_true")
    args = parser.parse_args()
    for suite in args.suites:
        folders = sorted(p.parent for p in (ROOT / suite).rglob("meta.json"))
        if args.only:
            folders = [f for f in folders if any(o in f.name for o in args.only)]
        with multiprocessing.get_context("fork").Pool(args.jobs, maxtasksperchild=1) as pool:
            results = pool.map(_worker, [(str(f), args.timeout) for f in folders], chunksize=1)
        for r in results:
            if args.verbose or args.programs:
                print(f"{'ok' if r['solved'] else '--'} {r['name']:<40} {r['seconds']:6.2f}s {r['why']}")
            if args.programs and r.get("program"):
                for line in r["program"]:
                    print("      " + line)
        seconds = sorted(r["seconds"] for r in results)
        solved = sum(r["solved"] for r in results)
        median = seconds[len(seconds) // 2] if seconds else 0
        p95 = seconds[max(0, -(-95 * len(seconds) // 100) - 1)] if seconds else 0
        print(f"{suite}: {solved}/{len(results)} solved, median {median:.2f}s, p95 {p95:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
