"""Read latency of the gateway under a fixed request rate (`make bench`, or `make bench-reads` alone).

    python -m recast_devstack.read_bench [--rates 50 100 200] [--seconds 8] [--report reads-report.json]

Starts `make run`'s stack (recast_devstack.bench_stack), trains a few small jobs through the pipeline, then for
each rate and each route sends requests on a fixed schedule (open loop: a request waits for nobody, so a slow
server shows as latency, not as fewer requests) and prints p50 / p99 latency and the rate achieved:

- GET /api/v1/{client}/{job}: a succeeded job (attempts, verdict, artifacts and its script);
- GET /api/v1/users/{client}/jobs: the client's job list (first page);
- GET /health: database, broker, S3 and the testers' reports;
- GET /livez: a route that does nothing, on the same server (what the server itself costs).

Latency is measured from the request's scheduled time to the end of its answer, with a small HTTP/1.1 client
on keep-alive connections (cheaper than a general client: the machine's cores are shared with the server). Each
line also shows the CPU per request of the gateway (all its workers), of Postgres (embedded stack only) and of
this client itself, which runs on the same machine.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from recast_devstack.bench_stack import BenchStack, CpuMeter, bench_stack, machine_line, run_and_report
from recast_devstack.pipeline_bench import Client, percentile
from recast_devstack.run import gateway_workers

GOAL_P99_MS = 50.0


class Connection:
    """One keep-alive HTTP/1.1 connection sending GETs and reading answers with a Content-Length."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}", *(f"{k}: {v}" for k, v in headers.items())]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        length = 0
        close = False
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        await self.reader.readexactly(length)
        if close:
            self.close()
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Run:
    route: str
    rate: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    def summary(self) -> dict:
        done = len(self.latencies_ms)
        return {"route": self.route, "rate": self.rate, "requests": done + self.errors, "errors": self.errors,
                "achieved_rps": round(done / self.elapsed, 1) if self.elapsed else 0.0,
                "p50_ms": round(percentile(self.latencies_ms, 50), 1),
                "p99_ms": round(percentile(self.latencies_ms, 99), 1)}


async def load(url: str, path: str, headers: dict[str, str], rate: int, seconds: float, route: str) -> Run:
    """Send `rate` GETs a second for `seconds` on a fixed schedule; each waits for a free connection of a pool."""
    parts = urlsplit(url)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(Connection(parts.hostname or "127.0.0.1", parts.port or 80))
    run = Run(route, rate)
    total = int(rate * seconds)
    began = time.perf_counter()

    async def one(scheduled: float) -> None:
        connection = await pool.get()
        try:
            status = await connection.get(path, headers)
            if status == 200:
                run.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
            else:
                run.errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            connection.close()
            run.errors += 1
        finally:
            pool.put_nowait(connection)

    tasks = []
    for n in range(total):
        scheduled = began + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    run.elapsed = time.perf_counter() - began
    while not pool.empty():
        pool.get_nowait().close()
    return run


async def trained_jobs(bench: BenchStack, http: httpx.AsyncClient, count: int) -> tuple[Client, str]:
    """A client with `count` finished jobs; returns it and a succeeded job's id."""
    client = Client(bench, http, "reader", await bench.client_key(http, "reader"), seed=1)
    await client.run(list(range(count)), in_flight=count, poll=0.5)
    succeeded = [f.job_id for f in client.finished if f.status == "succeeded"]
    if not succeeded:
        raise RuntimeError(f"no job succeeded: {[f.status for f in client.finished]}")
    return client, succeeded[0]


async def run_bench(args: argparse.Namespace) -> dict:
    async with bench_stack(gateway_workers=args.gateway_workers) as bench, httpx.AsyncClient(timeout=60.0) as http:
        client, job_id = await trained_jobs(bench, http, args.train_jobs)
        key = {"X-API-KEY": client.headers["X-API-KEY"]}
        routes = {
            "job": (f"/api/v1/{client.client_id}/{job_id}", key),
            "list": (f"/api/v1/users/{client.client_id}/jobs", key),
            "health": ("/health", {}),
            "trivial": ("/livez", {}),
        }
        for path, headers in routes.values():  # warm: connections, prepared statements, caches
            await load(bench.url, path, headers, 20, 1.0, "warm-up")
        meter = CpuMeter(bench)
        runs = []
        machine = machine_line()
        for rate in args.rates:
            for name, (path, headers) in routes.items():
                meter.start()
                client_before = os.times()
                run = await load(bench.url, path, headers, rate, args.seconds, name)
                client_after = os.times()
                summary = run.summary()
                spent = meter.since_start()
                spent["client"] = sum(client_after[:2]) - sum(client_before[:2])  # user + system
                for part in ("gateway", "postgres", "client"):
                    summary[f"{part}_cpu_ms_per_request"] = round(
                        spent.get(part, 0.0) * 1000 / max(1, summary["requests"]), 2)
                runs.append(summary)
                print(_line(summary), flush=True)
        return {"runs": runs, "seconds_per_run": args.seconds, "machine_before": machine,
                "machine_after": machine_line(), "goal_p99_ms": GOAL_P99_MS,
                "gateway_workers": args.gateway_workers or gateway_workers()}


def _line(s: dict) -> str:
    return (f"  {s['route']:<8} {s['rate']:>4} rps: p50 {s['p50_ms']:>7.1f} ms  p99 {s['p99_ms']:>7.1f} ms  "
            f"achieved {s['achieved_rps']:>6.1f} rps  errors {s['errors']}  CPU ms/request: gateway "
            f"{s['gateway_cpu_ms_per_request']:.2f}, postgres {s.get('postgres_cpu_ms_per_request', 0.0):.2f}, "
            f"client {s.get('client_cpu_ms_per_request', 0.0):.2f}")


def print_report(report: dict) -> None:
    print(f"\nread latency, {report['seconds_per_run']} s per route and rate, gateway with "
          f"{report.get('gateway_workers', 1)} worker process(es) (goal p99 < {report['goal_p99_ms']:.0f} ms)")
    for summary in report["runs"]:
        print(_line(summary))
    print(f"machine: before {report['machine_before']}; after {report['machine_after']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-read-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--train-jobs", type=int, default=6, help="jobs the reading client has")
    parser.add_argument("--gateway-workers", type=int, default=None,
                        help="the gateway's worker processes (default: make run's, RECAST_GATEWAY_WORKERS)")
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args(argv)
    report = run_and_report(run_bench(args), print_report, args.report)
    sys.exit(0 if all(r["errors"] == 0 for r in report["runs"]) else 1)


if __name__ == "__main__":
    main()
