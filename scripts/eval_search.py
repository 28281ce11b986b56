"""Dev harness: run recast_engine.synthesis.search.learn on benchmark suites and score with the reference interpreter.

    .venv/bin/python scripts/eval_search.py [atbench|foofah ...] [--filter SUBSTR] [--timeout S] [-v]

Scoring follows DESIGN.md: foofah tasks must map test_input to test_expected; atbench tasks must map the train
input to the train output with at most a tenth of the expected output's distinct cells as literals.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

from recast_engine.dsl.interpret import run
from recast_engine.synthesis.search import learn

META_HEADER = False
BENCH = Path("/work/shared/benchmarks")


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def literals(program) -> set[str]:
    found: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(program.model_dump(mode="json", exclude={"notes"}))
    return found


def tasks(suite: str, needle: str | None):
    root = BENCH / suite
    for meta in sorted(root.rglob("meta.json")):
        name = str(meta.parent.relative_to(root))
        if needle and needle not in name:
            continue
        yield name, meta.parent, json.loads(meta.read_text())


def evaluate(suite: str, needle: str | None, timeout: float, verbose: bool) -> list[tuple[str, bool, float, str]]:
    results = []
    for name, folder, meta in tasks(suite, needle):
        train_in, train_out = read(folder / "train_input.csv"), read(folder / "train_expected.csv")
        header = "yes" if meta.get("header") else "no"
        start = time.monotonic()
        result = learn(train_in, train_out, header=header if META_HEADER else "auto", timeout=timeout)
        elapsed = time.monotonic() - start
        ok, why = False, "no program"
        if result.programs:
            program = result.programs[0]
            if (folder / "test_input.csv").exists():
                try:
                    got = run(program, read(folder / "test_input.csv"))
                except Exception as exc:  # noqa: BLE001
                    got, why = None, f"crash {exc!r}"
                ok = got == read(folder / "test_expected.csv")
                why = why if ok or got is None else "test mismatch"
            else:
                distinct = {c for r in train_out for c in r}
                embedded = literals(program) & distinct
                ok = run(program, train_in) == train_out and len(embedded) <= len(distinct) / 10
                why = "" if ok else f"literals {len(embedded)}/{len(distinct)}"
            if verbose or not ok:
                why += " | " + " ; ".join(program.describe())[:300]
        else:
            why = f"unexplained {result.unexplained[:3]} tried {len(result.tried)}"
        results.append((name, ok, elapsed, why))
        print(f"{'OK ' if ok else 'BAD'} {elapsed:6.2f}s {name:40s} {'' if ok and not verbose else why}", flush=True)
        del header
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("suites", nargs="*", default=["atbench", "foofah"])
    parser.add_argument("--filter")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("-v", action="store_true")
    parser.add_argument("--meta-header", action="store_true", help="pass the header flag of meta.json")
    args = parser.parse_args()
    global META_HEADER
    META_HEADER = args.meta_header
    for suite in args.suites:
        results = evaluate(suite, args.filter, args.timeout, args.v)
        if not results:
            continue
        times = sorted(r[2] for r in results)
        solved = sum(r[1] for r in results)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"## {suite}: solved {solved}/{len(results)} ({100 * solved / len(results):.1f}%), "
            f"median {statistics.median(times):.2f}s, p95 {p95:.2f}s",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
