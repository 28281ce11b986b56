"""Dev harness: learn each PROSE task's output column(s) from the train pair with learn_column and score the
first expression on the test pair. Usage: python scripts/eval_columns.py [BENCH_DIR] [--filter PREFIX] [-v]"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

from recast_engine.dsl.interpret import eval_expr
from recast_engine.synthesis.columns import learn_column


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def evaluate(task: Path, timeout: float) -> tuple[bool, float, list[str]]:
    meta = json.loads((task / "meta.json").read_text())
    skip = 1 if meta.get("header") else 0
    train_in, train_out = _read(task / "train_input.csv")[skip:], _read(task / "train_expected.csv")[skip:]
    test_in, test_out = _read(task / "test_input.csv")[skip:], _read(task / "test_expected.csv")[skip:]
    width = max((len(r) for r in train_out), default=0)
    started = time.monotonic()
    solved = True
    notes = []
    for j in range(width):
        outputs = [r[j] if j < len(r) else "" for r in train_out]
        expr = next(learn_column(train_in, outputs, time.monotonic() + timeout), None)
        if expr is None:
            solved = False
            notes.append(f"col {j}: nothing learned")
            continue
        for row, out in zip(test_in, test_out):
            try:
                got = str(eval_expr(expr, row))
            except Exception as exc:  # noqa: BLE001 - the harness reports any failure
                got = f"<{exc!r}>"
            want = out[j] if j < len(out) else ""
            if got != want:
                solved = False
                notes.append(f"col {j}: {expr.describe()[:300]}\n      on {row!r:.120} got {got!r} want {want!r}")
                break
    return solved, time.monotonic() - started, notes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bench", nargs="?", default="/work/shared/benchmarks/prose")
    parser.add_argument("--filter", default="")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("-v", action="store_true")
    args = parser.parse_args()
    tasks = sorted(p for p in Path(args.bench).iterdir() if p.is_dir() and p.name.startswith(args.filter))
    times: list[float] = []
    by_category: dict[str, list[bool]] = {}
    for task in tasks:
        solved, took, notes = evaluate(task, args.timeout)
        times.append(took)
        by_category.setdefault(task.name.split(".")[0], []).append(solved)
        if args.v and not solved:
            print(f"FAIL {task.name} ({took:.2f}s)")
            for n in notes:
                print("   ", n)
        sys.stdout.flush()
    total = sum(sum(v) for v in by_category.values())
    for cat, results in sorted(by_category.items()):
        print(f"{cat:14} {sum(results)}/{len(results)}")
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"solved {total}/{len(tasks)} = {total / len(tasks):.1%}; median {statistics.median(times):.3f}s "
          f"p95 {p95:.3f}s max {times[-1]:.3f}s")


if __name__ == "__main__":
    main()
