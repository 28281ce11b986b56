"""`make bench-pipeline`: training throughput through `make run`'s stack.

    python -m recast_devstack.pipeline_bench [--jobs 300] [--clients 8] [--in-flight 4] [--replicas planner=2]
                                             [--window 100] [--report pipeline-report.json]

Starts the stack and every service as `make run` does (recast_devstack.bench_stack), creates the clients, trains
one warm-up job per client, then submits `--jobs` small training jobs (a few rows each, three kinds of
conversion, every pair different), each client keeping `--in-flight` jobs queued or running. It prints:

- jobs/min from the first submission to the last job's end, and latency p50/p95/p99 (the job's created_at to its
  terminal updated_at: queueing included, so by Little's law about in-flight x clients / throughput);
- the same per window of `--window` jobs in the order they ended (flat or not over many jobs);
- consumer-group lag sampled every `--lag-seconds` (max and mean per group);
- CPU seconds per job of every process (S3, broker, each service and its worker processes; Postgres when
  embedded) and the load average, since the machine may be shared;
- S3 requests per job by bucket and type (SeaweedFS's counters: `tansu` is the broker's own storage, so Kafka
  traffic shows there) and the job events per job by type (as projected: what the stages sent on Kafka).
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from recast_common.kafka import GROUP_TOPICS, queue_status

from recast_devstack.bench_stack import BenchStack, CpuMeter, bench_stack, machine_line, run_and_report

TERMINAL = ("succeeded", "needs_review", "failed")
_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"]
_CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", "Prague", "Warsaw", "Dublin", "Oslo"]


def training_pair(rng: random.Random, kind: int, rows: int = 8) -> tuple[str, str]:
    """A small train pair (input CSV, expected CSV) of one of three conversions, with random rows."""
    header = "id,name,date,amount,city\n"
    data = []
    for i in range(rows):
        date = f"{rng.randint(1990, 2030):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        data.append([str(rng.randint(1, 10**6) * 10 + i), f"{rng.choice(_NAMES)} {rng.choice(_NAMES)}", date,
                     f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}", rng.choice(_CITIES)])
    source = header + "".join(",".join(r) + "\n" for r in data)
    if kind == 0:
        expected = "id,NAME,date,amount\n" + "".join(
            f"{r[0]},{r[1].upper()},{r[2][8:10]}/{r[2][5:7]}/{r[2][0:4]},{r[3]}\n" for r in data)
    elif kind == 1:
        expected = "id,NAME,date,amount\n" + "".join(f"{r[0]},{r[1].upper()},{r[2]},{r[3]}\n" for r in data)
    else:
        expected = "amount,id,name\n" + "".join(f"{r[3]},{r[0]},{r[1]}\n" for r in data)
    return source, expected


@dataclass
class Finished:
    client: str
    job_id: str
    status: str
    created_at: float  # epoch seconds, the server's clock
    ended_at: float

    @property
    def latency(self) -> float:
        return self.ended_at - self.created_at


@dataclass
class LagSamples:
    per_group: dict[str, list[int]] = field(default_factory=dict)
    failures: int = 0

    def add(self, status: dict) -> None:
        for group, info in status.items():
            self.per_group.setdefault(group, []).append(int(info["lag"]))

    def summary(self) -> dict[str, dict[str, float]]:
        return {g: {"max": max(v), "mean": round(sum(v) / len(v), 1), "samples": len(v)}
                for g, v in sorted(self.per_group.items()) if v}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


class Client:
    """One client submitting its share of jobs, keeping `in_flight` of them queued or running."""

    def __init__(self, bench: BenchStack, http: httpx.AsyncClient, client_id: str, key: str, seed: int):
        self.bench, self.http, self.client_id = bench, http, client_id
        self.headers = {"X-API-KEY": key}
        self.rng = random.Random(seed)
        self.outstanding: set[str] = set()
        self.finished: list[Finished] = []
        self.rejected = 0

    async def submit(self, number: int) -> None:
        source, expected = training_pair(self.rng, number % 3)
        body = {"input_file": source, "expected_output_file": expected, "job_title": f"bench {number}"}
        while True:
            answer = await self.http.post(f"{self.bench.url}/api/v1/train", json=body, headers=self.headers)
            if answer.status_code == 429:  # the queue is full: the gateway's admission, not an error
                self.rejected += 1
                await asyncio.sleep(0.5)
                continue
            answer.raise_for_status()
            self.outstanding.add(answer.json()["job_id"])
            return

    async def collect(self) -> None:
        """Move the jobs that ended from outstanding to finished (one list read, a job read for older ones)."""
        url = f"{self.bench.url}/api/v1/users/{self.client_id}/jobs"
        page = (await self.http.get(url, params={"limit": 50}, headers=self.headers)).json()
        seen = {job["job_id"]: job for job in page}
        for job_id in list(self.outstanding):
            job = seen.get(job_id)
            if job is None:
                job = (await self.http.get(f"{self.bench.url}/api/v1/{self.client_id}/{job_id}",
                                           headers=self.headers)).json()
            if job.get("status") in TERMINAL:
                self.outstanding.discard(job_id)
                self.finished.append(Finished(self.client_id, job_id, job["status"], _epoch(job["created_at"]),
                                              _epoch(job["updated_at"])))

    async def run(self, numbers: list[int], in_flight: int, poll: float) -> None:
        pending = list(numbers)
        while pending or self.outstanding:
            while pending and len(self.outstanding) < in_flight:
                await self.submit(pending.pop(0))
            await asyncio.sleep(poll)
            await self.collect()


async def sample_lag(bench: BenchStack, samples: LagSamples, every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            samples.add(await queue_status(bench.settings, list(GROUP_TOPICS)))
        except Exception:  # noqa: BLE001 - a missed sample is not a failed benchmark
            samples.failures += 1
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


def windows(finished: list[Finished], size: int) -> list[dict]:
    """Throughput and latency per `size` jobs, in the order they ended."""
    ordered = sorted(finished, key=lambda f: f.ended_at)
    result = []
    previous_end = min(f.created_at for f in finished) if finished else 0.0
    for start in range(0, len(ordered), size):
        chunk = ordered[start:start + size]
        span = chunk[-1].ended_at - previous_end
        result.append({"jobs": f"{start + 1}-{start + len(chunk)}",
                       "jobs_per_min": round(len(chunk) / span * 60, 1) if span > 0 else None,
                       "p50_s": round(percentile([f.latency for f in chunk], 50), 2),
                       "p95_s": round(percentile([f.latency for f in chunk], 95), 2)})
        previous_end = chunk[-1].ended_at
    return result


def s3_requests(bench: BenchStack) -> dict[str, float]:
    """SeaweedFS's S3 request counters ({} when S3 is not the stack's own SeaweedFS)."""
    seaweed = bench.stack.seaweed
    if seaweed is None or seaweed.process is None:
        return {}
    try:
        return seaweed.s3_requests()
    except OSError:
        return {}


async def events_by_type(bench: BenchStack, job_ids: list[str]) -> dict[str, int]:
    """The projected job events of these jobs by type."""
    from recast_common.db import session_factory
    from sqlalchemy import text

    query = text("SELECT type, count(*) FROM job_events WHERE job_id = ANY(:ids) GROUP BY type ORDER BY type")
    async with session_factory(bench.settings)() as session:
        return {row[0]: int(row[1]) for row in (await session.execute(query, {"ids": job_ids})).all()}


async def run_bench(args: argparse.Namespace) -> dict:
    replicas = dict(item.split("=") for item in args.replicas)
    async with bench_stack({k: int(v) for k, v in replicas.items()}) as bench, \
            httpx.AsyncClient(timeout=60.0) as http:
        clients = []
        for n in range(args.clients):
            client_id = f"bench-{n}"
            clients.append(Client(bench, http, client_id, await bench.client_key(http, client_id), seed=n))
        # warm-up: every consumer joined its group and imported its code before the clock starts
        await asyncio.gather(*(c.run([10_000 + i], 1, 0.5) for i, c in enumerate(clients)))
        for c in clients:
            c.finished.clear()
        meter = CpuMeter(bench)
        meter.start()
        requests_before = await asyncio.to_thread(s3_requests, bench)
        lag, stop = LagSamples(), asyncio.Event()
        sampler = asyncio.create_task(sample_lag(bench, lag, args.lag_seconds, stop))
        load_before = machine_line()
        began = time.time()
        shares = [list(range(n, args.jobs, args.clients)) for n in range(args.clients)]
        await asyncio.gather(*(c.run(share, args.in_flight, args.poll) for c, share in zip(clients, shares)))
        stop.set()
        await sampler
        cpu = meter.since_start()
        requests_after = await asyncio.to_thread(s3_requests, bench)
        load_after = machine_line()
        finished = [f for c in clients for f in c.finished]
        events = await events_by_type(bench, [f.job_id for f in finished])
    first = min(f.created_at for f in finished)
    last = max(f.ended_at for f in finished)
    latencies = [f.latency for f in finished]
    statuses: dict[str, int] = {}
    for f in finished:
        statuses[f.status] = statuses.get(f.status, 0) + 1
    return {
        "jobs": len(finished),
        "clients": args.clients,
        "in_flight_per_client": args.in_flight,
        "replicas": replicas,
        "wall_seconds": round(time.time() - began, 1),
        "jobs_per_min": round(len(finished) / (last - first) * 60, 1),
        "latency_s": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
        "statuses": statuses,
        "rejected_429": sum(c.rejected for c in clients),
        "windows": windows(finished, args.window),
        "lag": lag.summary(),
        "lag_sample_failures": lag.failures,
        "cpu_seconds_per_job": {part: round(seconds / len(finished), 3)
                                for part, seconds in sorted(cpu.items(), key=lambda kv: -kv[1])},
        "cpu_cores_busy": {part: round(seconds / (last - first), 2) for part, seconds in cpu.items()},
        "s3_requests_per_job": {kind: round((count - requests_before.get(kind, 0.0)) / len(finished), 2)
                                for kind, count in sorted(requests_after.items())
                                if count > requests_before.get(kind, 0.0)},
        "events_per_job": {kind: round(count / len(finished), 2) for kind, count in events.items()},
        "machine_before": load_before,
        "machine_after": load_after,
    }


def print_report(report: dict) -> None:
    print(f"\n{report['jobs']} training jobs from {report['clients']} clients ({report['in_flight_per_client']} in "
          f"flight each, replicas {report['replicas'] or 'one each'}): {report['jobs_per_min']} jobs/min")
    lat = report["latency_s"]
    print(f"latency (created -> ended, queueing included): p50 {lat['p50']} s, p95 {lat['p95']} s, p99 {lat['p99']} s")
    print(f"statuses {report['statuses']}, 429s {report['rejected_429']}")
    print("per window:")
    for w in report["windows"]:
        print(f"  jobs {w['jobs']:>11}: {w['jobs_per_min']} jobs/min, p50 {w['p50_s']} s, p95 {w['p95_s']} s")
    print("consumer lag (max / mean over samples):")
    for group, v in report["lag"].items():
        print(f"  {group:<18} {v['max']:>5} / {v['mean']}")
    print("CPU seconds per job (cores busy):")
    for part, seconds in report["cpu_seconds_per_job"].items():
        print(f"  {part:<12} {seconds:.3f} s  ({report['cpu_cores_busy'][part]:.2f})")
    if report["s3_requests_per_job"]:
        print("S3 requests per job (bucket tansu: the broker's storage):")
        print("  " + ", ".join(f"{kind} {n}" for kind, n in report["s3_requests_per_job"].items()))
    print("job events per job (projected, i.e. sent on Kafka): "
          + ", ".join(f"{kind} {n}" for kind, n in report["events_per_job"].items()))
    print(f"machine: before {report['machine_before']}; after {report['machine_after']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-pipeline-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--in-flight", type=int, default=4, help="jobs each client keeps queued or running")
    parser.add_argument("--replicas", nargs="*", default=[], metavar="SERVICE=N",
                        help="run N replicas of a service, e.g. planner=2")
    parser.add_argument("--window", type=int, default=100, help="jobs per line of the per-window table")
    parser.add_argument("--lag-seconds", type=float, default=15.0,
                        help="seconds between lag samples (each costs the broker)")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between a client's status reads")
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args(argv)
    report = run_and_report(run_bench(args), print_report, args.report)
    sys.exit(0 if report["jobs"] == args.jobs else 1)


if __name__ == "__main__":
    main()
