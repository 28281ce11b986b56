"""Checks of the backing services (Postgres, the broker, S3) and the testers' reports, run at most once per
CHECK_TTL_SECONDS per gateway process: /health and /readyz answer from the latest result, so that probes of many
pods, load balancers and dashboards polling /health never open a broker connection per request.

A result older than the TTL is refreshed by one task while callers still get the previous one (a check of a
service that is down may take its whole timeout); only a result older than the TTL plus that timeout, or none at
all, makes callers wait for the refresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from recast_common.api import SandboxReportView
from recast_common.db.models import SandboxReport
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

T = TypeVar("T")

CHECK_TTL_SECONDS = 2.0
CHECK_TIMEOUT_SECONDS = 3.0
TESTERS_SHOWN = 20


class CachedCheck(Generic[T]):
    """The result of `check`, recomputed by a single task when older than `ttl` seconds."""

    def __init__(self, check: Callable[[], Awaitable[T]], ttl: float, max_stale: float,
                 clock: Callable[[], float] = time.monotonic):
        self._check = check
        self.ttl = ttl
        self.max_stale = max_stale
        self._clock = clock
        self._result: tuple[float, T] | None = None
        self._refresh: asyncio.Task[T] | None = None
        self.runs = 0  # how many times the check ran (for tests and curiosity)

    async def get(self) -> T:
        now = self._clock()
        if self._result is not None and now - self._result[0] < self.ttl:
            return self._result[1]
        if self._refresh is None:
            self._refresh = asyncio.create_task(self._run())
        if self._result is not None and now - self._result[0] < self.max_stale:
            return self._result[1]
        return await asyncio.shield(self._refresh)

    def cancel(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()

    async def _run(self) -> T:
        try:
            self.runs += 1
            value = await self._check()
            self._result = (self._clock(), value)
            return value
        finally:
            self._refresh = None


async def _bounded(check: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return bool(await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS + 1))
    except Exception:  # noqa: BLE001 - any failure means "not reachable now"
        return False


class BackingChecks:
    """{database, broker, storage} reachability and the testers' sandbox reports, cached (see the module)."""

    def __init__(self, settings, sessionmaker: async_sessionmaker, storage, ttl: float = CHECK_TTL_SECONDS):
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.storage = storage
        max_stale = ttl + CHECK_TIMEOUT_SECONDS + 1
        self.reachability = CachedCheck(self._reachability, ttl, max_stale)
        self.testers = CachedCheck(self._testers, ttl, max_stale)

    def close(self) -> None:
        self.reachability.cancel()
        self.testers.cancel()

    async def _database(self) -> bool:
        async with self.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
        return True

    async def _broker(self) -> bool:
        from recast_common import kafka

        return await kafka.ping(self.settings, timeout=CHECK_TIMEOUT_SECONDS)

    async def _storage(self) -> bool:
        return await self.storage.ping()

    async def _reachability(self) -> dict[str, bool]:
        database, broker, storage = await asyncio.gather(
            _bounded(self._database), _bounded(self._broker), _bounded(self._storage)
        )
        return {"database": database, "broker": broker, "storage": storage}

    async def _testers(self) -> list[SandboxReportView]:
        """What the tester replicas reported of their sandboxes, newest first (the gateway's own host says nothing
        of theirs: on a cluster they run in other pods, with other permissions)."""
        try:
            async with self.sessionmaker() as session:
                rows = await asyncio.wait_for(session.scalars(
                    select(SandboxReport).order_by(SandboxReport.reported_at.desc()).limit(TESTERS_SHOWN)
                ), CHECK_TIMEOUT_SECONDS)
                return [SandboxReportView(replica=r.replica, roles=r.roles, isolation=r.isolation,
                                          reported_at=r.reported_at) for r in rows]
        except Exception:  # noqa: BLE001 - the database check says why
            return []
