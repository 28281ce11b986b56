"""`make bench-chunked`: a large inference in chunks through `make run`'s stack, on one tester replica and on two.

    python -m recast_devstack.chunk_bench [--mb 200] [--chunk-mb 25] [--replicas 1 2] [--report chunked.json]

Generates a CSV of `--mb` MB (pipeline_bench's train input rows: id, name, date, amount, city), then for each
count in `--replicas` starts the stack and every service as `make run` does (recast_devstack.bench_stack) with
that many `tester` processes (each runs a tester-inference loop), with RECAST_INFERENCE_CHUNK_BYTES at `--chunk-mb`
(and the chunking threshold at the same size, so the file is split), trains one row-local job through the API
(pipeline_bench's first kind of train pair) and streams the CSV to PUT /inference/run/stream. It prints per
replica count: wall seconds from the request to the run's succeeded status (upload included; the upload alone
beside it), MB/s, the run's chunk count, the output's size and sha256, and the load average; then the wall ratio
of each count to the smallest one's and whether every output's sha256 is the same.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from recast_common.settings import Settings

from recast_devstack.bench_stack import bench_stack, machine_line, run_and_report
from recast_devstack.pipeline_bench import Client, training_pair

MIB = 1024 * 1024


def generate_csv(path: Path, megabytes: float, seed: int = 7, block_rows: int = 10_000, blocks: int = 16) -> int:
    """At least `megabytes` MB of rows shaped like the train pair's input (pipeline_bench.training_pair, whose ids
    end in the row's index in its block): `blocks` random blocks written in turn. Returns the data rows."""
    rng = random.Random(seed)
    pool = [training_pair(rng, 0, block_rows)[0] for _ in range(blocks)]
    header = pool[0].split("\n", 1)[0] + "\n"
    bodies = [text.split("\n", 1)[1] for text in pool]
    written, rows = 0, 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(header)
        while written < megabytes * MIB:
            body = bodies[rows // block_rows % blocks]
            f.write(body)
            written += len(body)
            rows += block_rows
    return rows


async def _file_body(path: Path, sent: list[float], block: int = MIB) -> AsyncIterator[bytes]:
    """The file in blocks; appends the monotonic time its last block was handed over to `sent`."""
    with path.open("rb") as f:
        while data := f.read(block):
            yield data
    sent.append(time.monotonic())


async def _output_sha256(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    async with http.stream("GET", url, headers=headers) as answer:
        answer.raise_for_status()
        async for data in answer.aiter_bytes():
            digest.update(data)
            size += len(data)
    return digest.hexdigest(), size


async def chunks_by_replica(settings: Settings, run_id: str) -> dict[str, int]:
    """How many of the run's chunks each tester replica converted last (inference_chunks)."""
    from recast_common.db import session_factory
    from sqlalchemy import text

    query = text("SELECT coalesce(replica, '?'), count(*) FROM inference_chunks WHERE run_id = :id GROUP BY 1")
    async with session_factory(settings)() as session:
        return {row[0]: int(row[1]) for row in (await session.execute(query, {"id": run_id})).all()}


async def one_run(source: Path, replicas: int, chunk_bytes: int, poll: float) -> dict:
    """Start the stack with `replicas` testers, train one job, convert `source` once; the run's figures."""
    env = {"RECAST_INFERENCE_CHUNK_BYTES": str(chunk_bytes), "RECAST_INFERENCE_CHUNK_THRESHOLD_BYTES": str(chunk_bytes)}
    async with bench_stack({"tester": replicas}, extra_env=env) as bench, \
            httpx.AsyncClient(timeout=httpx.Timeout(600.0, connect=10.0)) as http:
        client = Client(bench, http, "chunk-bench", await bench.client_key(http, "chunk-bench"), seed=0)
        await client.run([0], 1, 0.5)  # kind 0: uppercase the name, reformat the date, drop the city (row-local)
        trained = client.finished[0]
        if trained.status != "succeeded":
            return {"replicas": replicas, "error": f"the training job ended {trained.status}"}
        load_before = machine_line()
        sent: list[float] = []
        began = time.monotonic()
        answer = await http.put(f"{bench.url}/api/v1/inference/run/stream", params={"job_id": trained.job_id},
                                content=_file_body(source, sent),
                                headers={**client.headers, "Content-Type": "text/csv"})
        uploaded = (sent[0] if sent else time.monotonic()) - began  # the PUT waits a while for the run too
        answer.raise_for_status()
        run = answer.json()
        while run["status"] == "pending":
            await asyncio.sleep(poll)
            got = await http.get(f"{bench.url}/api/v1/inference/{run['run_id']}", headers=client.headers)
            got.raise_for_status()
            run = got.json()
        wall = time.monotonic() - began
        load_after = machine_line()
        if run["status"] != "succeeded":
            return {"replicas": replicas, "error": f"the run ended {run['status']}: {run.get('error')}"}
        sha, size = await _output_sha256(http, f"{bench.url}/api/v1/inference/{run['run_id']}/output",
                                         client.headers)
        per_replica = await chunks_by_replica(bench.settings, run["run_id"])
    metrics = run.get("metrics") or {}
    size_mb = source.stat().st_size / MIB
    return {"replicas": replicas, "wall_seconds": round(wall, 1), "upload_seconds": round(uploaded, 1),
            "mb_per_s": round(size_mb / wall, 1), "chunks": metrics.get("chunks", 1),
            "chunks_by_replica": dict(sorted(per_replica.items())),
            # the tester's own: from the split to the last part, and the chunks' script runs added up
            "split_to_done_seconds": metrics.get("wall_seconds"),
            "script_seconds_sum": metrics.get("chunk_wall_seconds"),
            "profile_seconds_sum": metrics.get("chunk_profile_seconds"),
            "output_rows": metrics.get("output_rows"), "output_bytes": size, "output_sha256": sha,
            "machine_before": load_before, "machine_after": load_after}


def compare(runs: list[dict]) -> dict:
    """Each run's wall time over the one with the fewest replicas, and whether every output has the same sha256."""
    timed = [r for r in runs if "wall_seconds" in r]
    base = min(timed, key=lambda r: r["replicas"]) if timed else None
    return {
        "base_replicas": base["replicas"] if base else None,
        "wall_ratio": {str(r["replicas"]): round(r["wall_seconds"] / base["wall_seconds"], 2)
                       for r in timed} if base else {},
        "same_output": len(timed) == len(runs) and len({r["output_sha256"] for r in timed}) == 1,
    }


async def run_bench(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="recast-chunk-bench-") as tmp:
        source = Path(tmp) / "big.csv"
        print(f"generating {args.mb} MB of CSV...", file=sys.stderr)
        rows = await asyncio.to_thread(generate_csv, source, args.mb)
        runs = []
        for replicas in args.replicas:
            print(f"stack with {replicas} tester replica(s): training, then the {args.mb} MB run...",
                  file=sys.stderr)
            runs.append(await one_run(source, replicas, int(args.chunk_mb * MIB), args.poll))
        size_mb = source.stat().st_size / MIB
    return {"input_mb": round(size_mb, 1), "rows": rows, "chunk_mb": args.chunk_mb, "runs": runs, **compare(runs)}


def print_report(report: dict) -> None:
    print(f"\nchunked inference: {report['input_mb']} MB, {report['rows']:,} rows, chunks of ~{report['chunk_mb']} MB")
    for r in report["runs"]:
        if "error" in r:
            print(f"  {r['replicas']} tester replica(s): {r['error']}")
            continue
        print(f"  {r['replicas']} tester replica(s): wall {r['wall_seconds']} s "
              f"(body sent after {r['upload_seconds']} s), {r['mb_per_s']} MB/s, {r['chunks']} chunks, "
              f"output {r['output_bytes']:,} bytes sha256 "
              f"{r['output_sha256'][:16]}...")
        print(f"      chunks by replica {r['chunks_by_replica']}; tester: split to last part "
              f"{r['split_to_done_seconds']} s, chunk scripts {r['script_seconds_sum']} s and chunk profiles "
              f"{r['profile_seconds_sum']} s added up")
        print(f"      machine: before {r['machine_before']}; after {r['machine_after']}")
    ratios = ", ".join(f"{n} replica(s) {v}x" for n, v in report["wall_ratio"].items())
    print(f"wall time over the {report['base_replicas']}-replica run's: {ratios}")
    print(f"same output sha256 in every run: {report['same_output']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-chunk-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="size of the generated input, MB")
    parser.add_argument("--chunk-mb", type=float, default=25.0,
                        help="RECAST_INFERENCE_CHUNK_BYTES in MB (also the chunking threshold); S3 parts >= 5 MiB")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2], help="tester replica counts, one stack each")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between status reads of the run")
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args(argv)
    report = run_and_report(run_bench(args), print_report, args.report)
    ok = report["same_output"] and all(r.get("chunks", 1) >= 2 for r in report["runs"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
