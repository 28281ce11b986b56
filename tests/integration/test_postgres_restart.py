"""A Postgres crash-restart in the middle of jobs: every consumer and the projector wait for the database and
go on; the gateway answers 503 with Retry-After while it is away; every job still succeeds, with a complete
history, and nothing reaches a dead-letter queue."""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from recast_common.events import Topics
from test_pipeline_kit import API, create_client, train, wait_job

JOBS = 6
DOWN_SECONDS = 6.0


def learnable_pair(i: int) -> tuple[str, str]:
    rows = [(f"name{i}_{r}", f"city{r}", str(20 + r + i)) for r in range(8)]
    source = "name,city,age\n" + "".join(f"{n},{c},{a}\n" for n, c, a in rows)
    expected = "city,name\n" + "".join(f"{c},{n}\n" for n, c, _ in rows)
    return source, expected


async def dead_letters(settings) -> list[bytes]:
    """Everything in the pipeline's dead-letter topics (read from the beginning)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(*(Topics.dlq(t) for t in Topics.ALL), bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        return [m.value for messages in batches.values() for m in messages]
    finally:
        await consumer.stop()


def poll_while_down(url: str, key: str, client_id: str, job_id: str, seconds: float) -> list[httpx.Response]:
    answers = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answers.append(httpx.get(f"{url}{API}/{client_id}/{job_id}", headers={"X-API-KEY": key}, timeout=30))
        time.sleep(0.5)
    return answers


async def test_jobs_survive_a_postgres_crash_restart(pipeline, stack_handle):
    if not stack_handle.pg.embedded:
        pytest.skip("needs the embedded Postgres (the test crashes and restarts it)")
    before = len(await dead_letters(pipeline.settings))
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = [await asyncio.to_thread(train, pipeline.url, key, *learnable_pair(i)) for i in range(JOBS)]
    await asyncio.sleep(0.5)  # the first stages are under way

    crash = asyncio.create_task(stack_handle.crash_restart_postgres(DOWN_SECONDS))
    answers = await asyncio.to_thread(poll_while_down, pipeline.url, key, client_id, accepted[0]["job_id"],
                                      DOWN_SECONDS - 1.5)
    await crash

    unavailable = [a for a in answers if a.status_code == 503]
    assert unavailable, [a.status_code for a in answers]
    assert all(a.status_code in (200, 503) for a in answers), [(a.status_code, a.text) for a in answers]
    assert all(a.headers.get("Retry-After") for a in unavailable)

    for job in accepted:
        body = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, job["job_id"], 240)
        assert body["status"] == "succeeded", body
    assert len(await dead_letters(pipeline.settings)) == before
