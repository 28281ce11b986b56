"""A small process supervisor: keeps services running, restarts crashed ones with exponential backoff."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from recast_devstack.services import ServiceProcess

log = logging.getLogger(__name__)

MIN_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # a service that ran this long before crashing restarts without delay growth


def next_backoff(previous: float, uptime: float) -> float:
    """Delay before restarting a service that crashed after `uptime` seconds; `previous` was the last delay."""
    if uptime >= STABLE_AFTER or previous <= 0:
        return MIN_BACKOFF
    return min(MAX_BACKOFF, previous * 2)


@dataclass
class ServiceSpec:
    name: str
    module: str
    args: Sequence[str] = ()
    url: str | None = None  # for HTTP services: base URL (health at url + "/health")


@dataclass
class _Supervised:
    spec: ServiceSpec
    process: ServiceProcess | None = None
    started_at: float = 0.0
    backoff: float = 0.0
    restarts: int = 0
    restart_at: float | None = None
    history: list[int | None] = field(default_factory=list)


class Supervisor:
    def __init__(self, env: dict[str, str], logs: Path, poll_interval: float = 0.5):
        self.env = env
        self.logs = logs
        self.poll_interval = poll_interval
        self.services: dict[str, _Supervised] = {}
        self._stopping = False

    def add(self, spec: ServiceSpec) -> ServiceProcess:
        entry = _Supervised(spec)
        self.services[spec.name] = entry
        self._launch(entry)
        assert entry.process is not None
        return entry.process

    def _launch(self, entry: _Supervised) -> None:
        spec = entry.spec
        entry.process = ServiceProcess(spec.name, spec.module, self.env, spec.args, logs=self.logs, url=spec.url,
                                       log_name=f"{spec.name}.log")  # appended to across restarts
        entry.started_at = time.monotonic()
        entry.restart_at = None
        log.info("started %s (pid %s, log %s)", spec.name, entry.process.pid, entry.process.log_path)

    def check(self) -> None:
        """One supervision round: notice exits, schedule and perform restarts."""
        now = time.monotonic()
        for entry in self.services.values():
            if self._stopping:
                return
            if entry.restart_at is not None:
                if now >= entry.restart_at:
                    entry.restarts += 1
                    self._launch(entry)
                continue
            if entry.process is None or entry.process.running:
                continue
            code = entry.process.poll()
            entry.history.append(code)
            entry.process.kill()  # reap the group and close the log
            entry.backoff = next_backoff(entry.backoff, now - entry.started_at)
            entry.restart_at = now + entry.backoff
            log.warning("%s exited with %s; restarting in %.0fs (log: %s)\n%s", entry.spec.name, code,
                        entry.backoff, entry.process.log_path, entry.process.tail(15))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.check()
            try:
                await asyncio.wait_for(stop.wait(), self.poll_interval)
            except TimeoutError:
                pass

    async def stop_all(self, timeout: float = 10.0) -> None:
        """SIGTERM every service at once, wait for all up to `timeout`, SIGKILL what is left."""
        self._stopping = True
        processes = [e.process for e in self.services.values() if e.process is not None]

        def stop_one(process: ServiceProcess) -> None:
            began = time.monotonic()
            code = process.stop(timeout)
            log.info("stopped %s (exit %s) in %.1fs", process.name, code, time.monotonic() - began)

        await asyncio.gather(*(asyncio.to_thread(stop_one, p) for p in processes))
