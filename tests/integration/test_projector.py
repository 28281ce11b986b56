"""Projector against the real stack: duplicates are projected once, late events never undo a terminal job,
inference results reach inference_runs and wake waiters."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from recast_common.db.session import asyncpg_dsn
from recast_common.events import (
    Event,
    InferenceCompleted,
    JobCoded,
    JobFeedback,
    JobPlanned,
    JobProfiled,
    JobProgress,
    JobSucceeded,
)

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 60


@pytest.fixture
async def conn(stack):
    connection = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    yield connection
    await connection.close()


@pytest.fixture
async def producer(stack):
    kafka = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap, enable_idempotence=False)
    await kafka.start()
    yield kafka
    await kafka.stop()


async def publish(producer: AIOKafkaProducer, event: Event) -> None:
    await producer.send_and_wait(
        event.type, value=event.model_dump_json().encode(), key=event.job_id.encode()
    )


async def make_job(conn: asyncpg.Connection) -> tuple[str, str]:
    client, job = f"proj-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    await conn.execute("INSERT INTO clients (id) VALUES ($1)", client)
    # created_at in the past: events of this test are newer than the submission.
    await conn.execute(
        "INSERT INTO jobs (id, public_id, client_id, input_key, expected_key, created_at) "
        "VALUES ($1, $1, $2, 'i', 'e', now() - interval '1 minute')",
        job,
        client,
    )
    return client, job


async def wait_for(conn: asyncpg.Connection, sql: str, *args, what: str):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while True:
        value = await conn.fetchval(sql, *args)
        if value:
            return value
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.2)


async def test_a_message_delivered_twice_is_projected_once(spawn, conn, producer):
    client, job = await make_job(conn)
    common = {"job_id": job, "client_id": client, "input_key": "i", "expected_key": "e"}
    profiled = JobProfiled(**common, profile_key="p")
    planned = JobPlanned(**common, program={"steps": [], "columns": []})
    spawn("projector")
    await publish(producer, profiled)
    await publish(producer, profiled)
    await publish(producer, planned)
    await publish(producer, profiled)
    await wait_for(
        conn, "SELECT count(*) = 2 FROM job_events WHERE job_id = $1", job, what="two projected events"
    )
    await wait_for(conn, "SELECT status = 'coding' FROM jobs WHERE id = $1", job, what="job to reach coding")
    # Redelivered copies were published before the planned event and after it; give the last one time to land.
    await publish(
        producer, JobProgress(job_id=job, client_id=client, stage="coding", percent=55, message="marker")
    )
    await wait_for(conn, "SELECT message = 'marker' FROM jobs WHERE id = $1", job, what="the marker event")
    rows = await conn.fetch("SELECT event_id, seq FROM job_events WHERE job_id = $1 ORDER BY seq", job)
    assert [r["event_id"] for r in rows].count(profiled.event_id) == 1
    assert [r["seq"] for r in rows] == [1, 2, 3]
    attempt = await conn.fetchrow("SELECT status, program_fingerprint FROM attempts WHERE job_id = $1", job)
    assert attempt["status"] == "planned" and attempt["program_fingerprint"]


async def test_feedback_success_and_late_events(spawn, conn, producer):
    client, job = await make_job(conn)
    common = {"job_id": job, "client_id": client, "input_key": "i", "expected_key": "e"}
    spawn("projector")
    for event in (
        JobCoded(**common, script_key="s1"),
        JobFeedback(**common, verdict={"passed": False, "summary": "column 'x' differs in 3/3 rows"}),
        JobPlanned(**common, attempt=2, program={"steps": [], "columns": [], "header_rows": 1}),
        JobSucceeded(job_id=job, client_id=client, attempt=2, script_key="s2", verdict={"passed": True}),
        JobProgress(
            job_id=job, client_id=client, stage="profiling", percent=10
        ),  # late: must not undo success
    ):
        await publish(producer, event)
    await wait_for(conn, "SELECT count(*) = 5 FROM job_events WHERE job_id = $1", job, what="five events")
    row = await conn.fetchrow("SELECT status, script_key, attempt, percent FROM jobs WHERE id = $1", job)
    assert dict(row) == {"status": "succeeded", "script_key": "s2", "attempt": 2, "percent": 100}
    attempts = await conn.fetch(
        "SELECT number, status, verdict::text AS verdict FROM attempts WHERE job_id = $1 ORDER BY number", job
    )
    assert [(a["number"], a["status"]) for a in attempts] == [(1, "failed"), (2, "passed")]
    assert "differs in 3/3 rows" in attempts[0]["verdict"]


async def test_inference_results_are_projected_and_notified(spawn, conn, producer, stack):
    client, job = await make_job(conn)
    run_id = uuid.uuid4().hex
    await conn.execute(
        "INSERT INTO inference_runs (id, job_id, client_id, input_key, output_key) "
        "VALUES ($1, $2, $3, 'in', 'out')",
        run_id,
        job,
        client,
    )
    listener = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    notified = asyncio.Queue()
    await listener.add_listener("recast_inference", lambda *args: notified.put_nowait(args[-1]))
    try:
        spawn("projector")
        await publish(
            producer,
            InferenceCompleted(
                job_id=job, client_id=client, run_id=run_id, output_key="out", metrics={"rows": 2}
            ),
        )
        assert await asyncio.wait_for(notified.get(), DEADLINE_SECONDS) == run_id
    finally:
        await listener.close()
    row = await conn.fetchrow(
        "SELECT status, metrics::text AS metrics FROM inference_runs WHERE id = $1", run_id
    )
    assert row["status"] == "succeeded" and '"rows": 2' in row["metrics"]


async def test_a_poison_message_goes_to_the_dlq_and_projection_goes_on(spawn, conn, producer, stack):
    from aiokafka import AIOKafkaConsumer

    client, job = await make_job(conn)
    marker = uuid.uuid4().hex.encode()
    spawn("projector")
    await producer.send_and_wait("job.progress", value=b"not json " + marker, key=job.encode())
    await publish(
        producer, JobProgress(job_id=job, client_id=client, stage="profiling", message="after poison")
    )
    await wait_for(
        conn, "SELECT message = 'after poison' FROM jobs WHERE id = $1", job, what="the next event"
    )
    consumer = AIOKafkaConsumer(
        "job.progress.dlq",
        bootstrap_servers=stack.settings.kafka_bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        found = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        while found is None and loop.time() < deadline:
            for messages in (await consumer.getmany(timeout_ms=1000)).values():
                found = next((m for m in messages if marker in (m.value or b"")), found)
    finally:
        await consumer.stop()
    assert found is not None
    assert b"undecodable" in dict(found.headers)["error"]
