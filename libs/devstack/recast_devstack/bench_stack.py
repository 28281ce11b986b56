"""`make run`'s stack for a benchmark: the embedded stack and every service, supervised, in a temporary folder.

Differences from `make run`, so that a benchmark can run beside it and beside the tests: free ports, a fresh
database (dropped afterwards) on DATABASE_URL's server when set, and extra replicas of a service on request.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from recast_common.settings import Settings

from recast_devstack.ports import free_port
from recast_devstack.procstat import child_pids, cpu_seconds, descendant_pids
from recast_devstack.run import service_specs
from recast_devstack.stack import Stack, StackConfig
from recast_devstack.supervisor import ServiceSpec, Supervisor

log = logging.getLogger(__name__)


@dataclass
class BenchStack:
    url: str
    admin_key: str
    settings: Settings
    stack: Stack
    supervisor: Supervisor

    def pids(self) -> dict[str, list[int]]:
        """The processes of every part by name (S3, broker, embedded Postgres with its backends, each service)."""
        parts: dict[str, list[int]] = {}
        if self.stack.seaweed and self.stack.seaweed.process:
            parts["seaweedfs"] = [self.stack.seaweed.process.pid]
        if self.stack.tansu and self.stack.tansu.process:
            parts["tansu"] = [self.stack.tansu.process.pid]
        pg = self.stack.pg
        if pg is not None and pg.embedded and pg.postmaster_pid:
            parts["postgres"] = [pg.postmaster_pid, *child_pids(pg.postmaster_pid)]
        for name, entry in self.supervisor.services.items():
            if entry.process is not None:  # with its worker processes (the planner's search pool)
                parts[name] = [entry.process.pid, *descendant_pids(entry.process.pid)]
        return parts

    async def client_key(self, http: httpx.AsyncClient, client_id: str) -> str:
        answer = await http.post(f"{self.url}/api/v1/admin/clients", json={"client_id": client_id},
                                 headers={"X-API-KEY": self.admin_key})
        answer.raise_for_status()
        return answer.json()["api_key"]


class CpuMeter:
    """CPU seconds each part of the stack spent, sampled; processes that restart or come and go (Postgres backends)
    are kept by pid, so a part's total is the sum over every process it ever had."""

    def __init__(self, bench: BenchStack):
        self.bench = bench
        self._last: dict[str, dict[int, float]] = {}
        self._base: dict[str, float] = {}

    def sample(self) -> dict[str, float]:
        for part, pids in self.bench.pids().items():
            seen = self._last.setdefault(part, {})
            for pid in pids:
                value = cpu_seconds(pid)
                if value is not None:
                    seen[pid] = value
        return {part: sum(values.values()) for part, values in self._last.items()}

    def start(self) -> None:
        self._base = self.sample()

    def since_start(self) -> dict[str, float]:
        now = self.sample()
        return {part: now[part] - self._base.get(part, 0.0) for part in now}


@asynccontextmanager
async def bench_stack(replicas: dict[str, int] | None = None, extra_env: dict[str, str] | None = None,
                      keep: Path | None = None, gateway_workers: int | None = None) -> AsyncIterator[BenchStack]:
    """Start the stack and `make run`'s services (plus replicas[name] - 1 more of a service, the gateway with
    `gateway_workers` processes, default make run's), stop them after."""
    with tempfile.TemporaryDirectory(prefix="recast-bench-") as tmp:
        data_dir = keep or Path(tmp)
        port = free_port()
        admin_key = secrets.token_urlsafe(32)
        config = StackConfig.from_environment(
            data_dir, admin_api_key=admin_key, database_name=f"recast_bench_{secrets.token_hex(4)}",
            drop_database_on_stop=True, extra_env={"RECAST_DEV_MODE": "1", **(extra_env or {})},
        )
        stack = Stack(config)
        env = await stack.start()
        supervisor = Supervisor(env.process_env(), data_dir / "logs")
        try:
            for spec in service_specs(port, gateway_workers):
                supervisor.add(spec)
                for n in range(2, (replicas or {}).get(spec.name, 1) + 1):
                    supervisor.add(ServiceSpec(f"{spec.name}-{n}", spec.module, spec.args, spec.url))
            url = f"http://127.0.0.1:{port}"
            await _wait_ready(url)
            stop = asyncio.Event()
            supervision = asyncio.create_task(supervisor.run(stop))
            try:
                yield BenchStack(url, admin_key, env.settings, stack, supervisor)
            finally:
                stop.set()
                await supervision
        finally:
            await supervisor.stop_all()
            await stack.stop()


async def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"the gateway at {url} was not ready after {timeout:.0f}s")


def machine_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def run_and_report(bench: Coroutine[Any, Any, dict[str, Any]], print_report: Callable[[dict[str, Any]], None],
                   path: Path | None) -> dict[str, Any]:
    """A bench's main: quiet logs, the run, its printed table and (when asked) its JSON report."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    report = asyncio.run(bench)
    print_report(report)
    if path:
        path.write_text(json.dumps(report, indent=2))
    return report
