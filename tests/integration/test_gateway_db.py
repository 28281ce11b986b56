"""Contracts other services rely on: migrations in code, inbox.claim, outbox.enqueue (+NOTIFY), Storage, and the
pool's ping of idle connections."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from recast_common.db import inbox, migrate, outbox, session_factory
from recast_common.db.outbox import NOTIFY_CHANNEL
from recast_common.db.session import asyncpg_dsn, make_engine
from recast_common.errors import is_transient
from recast_common.events import JobProgress
from recast_common.storage import Storage
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

pytestmark = pytest.mark.integration


async def test_migrations_run_again_from_a_libpq_url_and_inside_an_event_loop(stack):
    migrate.upgrade(asyncpg_dsn(stack.settings.database_url))  # already at head: a no-op, not an error
    conn = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    try:
        head = ScriptDirectory.from_config(migrate.alembic_config(stack.settings.database_url)).get_current_head()
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == head
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables")}
    finally:
        await conn.close()
    wanted = {"clients", "api_keys", "jobs", "attempts", "job_events", "outbox", "inbox", "artifacts"}
    assert wanted | {"inference_runs"} <= tables


async def test_inbox_claims_an_event_once_per_consumer(stack):
    sessions = session_factory(stack.settings)
    event_id = uuid.uuid4().hex
    async with sessions() as session, session.begin():
        assert await inbox.claim(session, "planner", event_id) is True
        assert await inbox.claim(session, "planner", event_id) is False
        assert await inbox.claim(session, "coder", event_id) is True
    rolled_back = uuid.uuid4().hex
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            assert await inbox.claim(session, "planner", rolled_back)
            raise RuntimeError("handler failed")
    async with sessions() as session, session.begin():
        assert await inbox.claim(session, "planner", rolled_back) is True  # the failed try left no trace


async def test_outbox_enqueue_is_transactional_and_notifies_on_commit(stack):
    listener = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    notified = asyncio.Event()
    await listener.add_listener(NOTIFY_CHANNEL, lambda *_: notified.set())
    sessions = session_factory(stack.settings)
    job_id = f"outbox-{uuid.uuid4().hex[:8]}"
    try:
        with pytest.raises(RuntimeError):
            async with sessions() as session, session.begin():
                await outbox.enqueue(session, JobProgress(job_id=job_id, client_id="c", stage="testing"))
                raise RuntimeError("rolled back")
        event = JobProgress(job_id=job_id, client_id="c", stage="coding")
        async with sessions() as session, session.begin():
            row = await outbox.enqueue(session, event)
        await asyncio.wait_for(notified.wait(), 30)
        rows = await listener.fetch(
            "SELECT topic, key, payload->>'event_id' AS event_id FROM outbox WHERE key = $1", job_id
        )
    finally:
        await listener.close()
    assert [(r["topic"], r["key"], r["event_id"]) for r in rows] == [("job.progress", job_id, event.event_id)]
    assert row.id is not None


async def test_storage_round_trip(stack, tmp_path):
    prefix = f"storage-{uuid.uuid4().hex[:8]}"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(17 * 1024 * 1024))  # above the multipart threshold
    async with Storage(stack.settings) as storage:
        assert await storage.ping()
        await storage.ensure_bucket()  # idempotent
        await storage.put_bytes(f"{prefix}/j1/a.csv", b"a,b\n1,2\n")
        await storage.put_bytes(f"{prefix}/j10/a.csv", b"x\n")
        assert await storage.get_bytes(f"{prefix}/j1/a.csv") == b"a,b\n1,2\n"
        assert await storage.head(f"{prefix}/j1/a.csv") == 8
        assert await storage.head(f"{prefix}/j1/missing.csv") is None
        assert not await storage.exists(f"{prefix}/j1/missing.csv")
        await storage.upload_file(f"{prefix}/j1/big.bin", big)
        await storage.download_file(f"{prefix}/j1/big.bin", tmp_path / "copy.bin")
        assert (tmp_path / "copy.bin").read_bytes() == big.read_bytes()
        assert await storage.delete_prefix(f"{prefix}/j1") == 2  # never touches the sibling j10
        assert await storage.list_keys(f"{prefix}/") == [f"{prefix}/j10/a.csv"]
        with pytest.raises(ValueError):
            await storage.delete_prefix("")
        await storage.delete_prefix(prefix)


async def _backend_pid(engine) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(text("SELECT pg_backend_pid()"))


async def _terminate(stack, pid: int) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def test_a_pooled_connection_idle_past_the_ping_delay_is_pinged_and_replaced_when_dead(stack):
    engine = make_engine(stack.settings.database_url, ping_after_idle=0.2, pool_size=1, max_overflow=0)
    try:
        first = await _backend_pid(engine)
        await _terminate(stack, first)
        await asyncio.sleep(0.4)
        assert await _backend_pid(engine) != first  # no error: the ping found it dead, the pool opened another
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged_and_its_death_fails_one_statement_only(stack):
    engine = make_engine(stack.settings.database_url, ping_after_idle=60.0, pool_size=2, max_overflow=0)
    try:
        async with engine.connect() as a, engine.connect() as b:  # two pooled connections, both soon dead
            pids = [await c.scalar(text("SELECT pg_backend_pid()")) for c in (a, b)]
        for pid in pids:
            await _terminate(stack, pid)
        with pytest.raises(DBAPIError) as failed:
            await _backend_pid(engine)
        assert failed.value.connection_invalidated and is_transient(failed.value)  # a 503 at the gateway
        assert await _backend_pid(engine) not in pids  # the failure invalidated the whole pool
    finally:
        await engine.dispose()
