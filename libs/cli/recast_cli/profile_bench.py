"""The profiler on a large file: one streaming pass over a generated CSV, its throughput and peak memory.

    python -m recast_cli.profile_bench [--mb 1024]

The file (ids, a category, dates in two spellings, amounts, unicode text, nulls, ragged rows, duplicates) is
written to a temporary folder; a child process profiles it and reports its own peak RSS, so the figure is the
profiler's alone.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from recast_engine.profiling import profile_file

CITIES = ["Zürich", "São Paulo", "Kraków", "東京", "Paris", "Lagos", "Lima", "Oslo", "", "N/A"]
TIERS = ["gold", "silver", "bronze", "platinum"]


def generate_csv(path: Path, megabytes: int, seed: int = 5) -> int:
    """Write about `megabytes` MB of CSV; returns the number of data rows."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    rows = written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\ufeffid,tier,city,joined,amount,quantity,note\n")
        while written < target:
            lines = []
            for _ in range(10_000):
                rows += 1
                day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if rows % 50 else \
                    f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/2023"
                amount = f"{rng.lognormvariate(4, 1):.2f}" if rows % 40 else ""
                note = "ünïcödé ✓ ok" if rows % 7 else '"quoted, with a comma"'
                fields = [str(rows % 5_000_000), TIERS[rows % 4], rng.choice(CITIES), day, amount,
                          str(rng.randint(1, 99)), note]
                lines.append(",".join(fields if rows % 1000 else fields[:-1]))  # a ragged row now and then
            block = "\n".join(lines) + "\n"
            out.write(block)
            written += len(block.encode())
    return rows


def _child(path: str) -> None:
    started = time.monotonic()
    profile = profile_file(path)
    seconds = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "seconds": round(seconds, 2),
        "data_rows": profile["data_rows"],
        "columns": profile["columns"],
        "duplicate_rows": profile["duplicate_rows"],
        "duplicate_rows_exact": profile["duplicate_rows_exact"],
        "distinct_ids": profile["column_profiles"][0]["distinct"],
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }))


def run_profile_bench(megabytes: int = 1024, workdir: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="recast-profile-bench-", dir=workdir) as tmp:
        path = Path(tmp) / "large.csv"
        print(f"profile bench: writing a {megabytes} MB CSV", file=sys.stderr)
        rows = generate_csv(path, megabytes)
        size = path.stat().st_size
        print(f"profile bench: profiling {size / 1e6:.0f} MB ({rows} rows)", file=sys.stderr)
        done = subprocess.run([sys.executable, "-m", "recast_cli.profile_bench", "--child", str(path)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return {"error": done.stderr[-2000:], "bytes": size}
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["bytes"] = size
    figures["mb_per_second"] = round(size / 1e6 / figures["seconds"], 2) if figures["seconds"] else None
    return figures


def print_profile_bench(figures: dict[str, Any], out=sys.stdout) -> None:
    if "error" in figures:
        print(f"profile bench failed: {figures['error']}", file=out)
        return
    print(f"profile of a {figures['bytes'] / 1e6:.0f} MB CSV ({figures['data_rows']:,} rows, {figures['columns']} "
          f"columns), one pass: {figures['seconds']:.1f} s, {figures['mb_per_second']} MB/s, peak RSS "
          f"{figures['peak_rss_mb']:.0f} MB", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recast_cli.profile_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=1024, help="size of the generated CSV, MB")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    print_profile_bench(run_profile_bench(args.mb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
