"""Outbox relay on the real stack: nothing is lost while it is down; two relays never double-publish."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from recast_common.db import outbox
from recast_common.db.session import asyncpg_dsn, make_engine
from recast_common.events import JobProgress, Topics
from sqlalchemy.ext.asyncio import async_sessionmaker

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 60


async def wait_until(check, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while not await check():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.2)


async def unsent(stack, where: str, *args) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    try:
        return await conn.fetchval(f"SELECT count(*) FROM outbox WHERE sent_at IS NULL AND {where}", *args)
    finally:
        await conn.close()


async def read_topic(stack, topic: str, keep, expected: int) -> list[dict]:
    """Every message of `topic` (from the start, fresh group) whose decoded payload `keep` accepts."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.settings.kafka_bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[dict] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        idle_polls = 0
        while loop.time() < deadline and (len(found) < expected or idle_polls < 3):
            batch = await consumer.getmany(timeout_ms=1000)
            idle_polls = 0 if batch else idle_polls + 1
            for messages in batch.values():
                for message in messages:
                    payload = json.loads(message.value)
                    if keep(payload):
                        assert message.key.decode() == payload["job_id"]
                        found.append(payload)
    finally:
        await consumer.stop()
    return found


async def test_a_job_committed_while_the_relay_is_down_is_published_once_it_starts(
    stack, spawn, spawn_gateway
):
    gateway = spawn_gateway()
    client = f"relay-{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        f"{gateway.url}/api/v1/admin/clients",
        json={"client_id": client},
        headers={"X-API-KEY": stack.settings.admin_api_key},
    )
    key = {"X-API-KEY": created.json()["api_key"]}
    response = httpx.post(
        f"{gateway.url}/api/v1/train",
        headers=key,
        json={"input_file": "a,b\n1,2\n", "expected_output_file": "b\n2\n"},
    )
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert await unsent(stack, "key = $1", job_id) == 1

    spawn("relay")
    await wait_until(lambda: _none_unsent(stack, job_id), "the relay to publish the job")
    events = await read_topic(stack, Topics.JOB_SUBMITTED, lambda p: p["job_id"] == job_id, expected=1)
    assert len(events) == 1
    assert events[0]["client_id"] == client and events[0]["input_key"].startswith(f"{client}/{job_id}/")


async def _none_unsent(stack, job_id: str) -> bool:
    return await unsent(stack, "key = $1", job_id) == 0


async def test_two_relays_publish_every_row_exactly_once(stack, spawn):
    run = uuid.uuid4().hex[:8]
    count = 300
    engine = make_engine(stack.settings.database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    event_ids = set()
    try:
        for start in range(0, count, 50):
            async with sessions() as session, session.begin():
                for i in range(start, start + 50):
                    event = JobProgress(
                        job_id=f"relaytest-{run}-{i % 7}",
                        client_id="relaytest",
                        stage="testing",
                        message=str(i),
                    )
                    event_ids.add(event.event_id)
                    await outbox.enqueue(session, event)
    finally:
        await engine.dispose()

    first, second = spawn("relay"), spawn("relay")
    pattern = f"relaytest-{run}-%"
    await wait_until(lambda: _all_sent(stack, pattern), "both relays to drain the outbox")
    assert first.running and second.running
    events = await read_topic(
        stack, Topics.JOB_PROGRESS, lambda p: p["job_id"].startswith(f"relaytest-{run}-"), expected=count
    )
    published = Counter(e["event_id"] for e in events)
    assert set(published) == event_ids
    assert max(published.values()) == 1
    # Per key, the relays kept the order the rows were written in.
    for key in {e["job_id"] for e in events}:
        order = [int(e["message"]) for e in events if e["job_id"] == key]
        assert order == sorted(order)


async def _all_sent(stack, pattern: str) -> bool:
    return await unsent(stack, "key LIKE $1", pattern) == 0
