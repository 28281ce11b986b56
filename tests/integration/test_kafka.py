"""Kafka helpers against a real Tansu: topics, lag, group membership, FastStream wiring, durability."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from recast_common.events import JobProgress, Topics
from recast_common.kafka import (
    all_topic_names,
    ensure_topics,
    make_broker,
    ping,
    publish_event,
    queue_status,
    subscriber_options,
    topic_partitions,
)

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def produce(settings, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        batch = [producer.send(topic, value=f"m{i}".encode(), key=f"job-{i}".encode()) for i in range(count)]
        await asyncio.gather(*[await b for b in batch])
    finally:
        await producer.stop()


async def test_ping(stack):
    assert await ping(stack.settings)


async def test_every_topic_and_dlq_has_configured_partitions(stack):
    names = all_topic_names()
    assert len(names) == 2 * len(Topics.ALL)
    partitions = await topic_partitions(stack.settings, names)
    assert partitions == {name: stack.settings.topic_partitions for name in names}


async def test_ensure_topics_is_idempotent(stack):
    topic = unique("test-idem")
    assert await ensure_topics(stack.settings, [topic]) == [topic]
    assert await ensure_topics(stack.settings, [topic]) == []
    assert await ensure_topics(stack.settings) == []


async def test_two_consumers_of_one_group_split_partitions(stack):
    topic = unique("test-split")
    await ensure_topics(stack.settings, [topic])
    group = unique("group")
    consumers = [
        AIOKafkaConsumer(topic, bootstrap_servers=stack.settings.kafka_bootstrap, group_id=group,
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         session_timeout_ms=6000, heartbeat_interval_ms=500)
        for _ in range(2)
    ]
    for consumer in consumers:
        await consumer.start()
    try:
        async def balanced() -> list[set[int]]:
            while True:
                # getmany drives the group protocol (joins, rebalances) for each consumer
                await asyncio.gather(*(c.getmany(timeout_ms=200) for c in consumers))
                assigned = [{tp.partition for tp in c.assignment()} for c in consumers]
                complete = set().union(*assigned) == set(range(stack.settings.topic_partitions))
                if all(assigned) and complete and not assigned[0] & assigned[1]:
                    return assigned

        first, second = await asyncio.wait_for(balanced(), 60)
        assert first and second and not first & second
        status = await queue_status(stack.settings, [group], {group: (topic,)})
        assert status[group]["members"] in (None, 2)
    finally:
        for consumer in consumers:
            await consumer.stop()


async def test_queue_status_reports_lag_from_committed_offsets(stack):
    topic = unique("test-lag")
    await ensure_topics(stack.settings, [topic])
    group = unique("lag-group")
    await produce(stack.settings, topic, 10)
    mapping = {group: (topic,)}

    before = await queue_status(stack.settings, [group], mapping)
    assert before[group]["lag"] == 10
    assert before[group]["topics"] == {topic: 10}

    # Handle every message of one partition and commit it: exactly those stop lagging.
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.settings.kafka_bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(stack.settings.topic_partitions)]
        consumer.assign(tps)
        counts: dict[TopicPartition, int] = {tp: 0 for tp in tps}

        async def read_all():
            while sum(counts.values()) < 10:
                for tp, messages in (await consumer.getmany(timeout_ms=200)).items():
                    counts[tp] += len(messages)
        await asyncio.wait_for(read_all(), 30)
        tp = next(tp for tp in tps if counts[tp] > 0)
        await consumer.commit({tp: counts[tp]})
    finally:
        await consumer.stop()

    after = await queue_status(stack.settings, [group], mapping)
    assert after[group]["lag"] == 10 - counts[tp]
    assert after[group]["topics"] == {topic: 10 - counts[tp]}


async def test_faststream_broker_with_subscriber_options_receives_published_events(stack):
    topic = Topics.JOB_PROGRESS
    group = unique("fs-group")
    job_id = unique("job")
    received: list[dict] = []
    broker = make_broker(stack.settings)

    @broker.subscriber(topic, **subscriber_options(group))
    async def handle(body: dict) -> None:
        if body["job_id"] == job_id:
            received.append(body)

    # published before the subscriber's group exists: "earliest" must still deliver it
    publisher = make_broker(stack.settings)
    await publisher.start()
    try:
        event = JobProgress(job_id=job_id, client_id="c", stage="test")
        await publish_event(publisher, event)
    finally:
        await publisher.stop()

    await broker.start()
    try:
        async def wait_received():
            while not received:
                await asyncio.sleep(0.1)
        await asyncio.wait_for(wait_received(), 60)
    finally:
        await broker.stop()
    assert received[0]["event_id"] == event.event_id


async def test_topic_data_survives_broker_restart(stack_handle):
    settings = stack_handle.env.settings
    topic = unique("test-durable")
    await ensure_topics(settings, [topic])
    await produce(settings, topic, 20)

    await stack_handle.restart_kafka()
    assert await ping(settings)

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, group_id=unique("after"),
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        seen: set[bytes] = set()

        async def read_all():
            while len(seen) < 20:
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    seen.update(m.value for m in messages)
        await asyncio.wait_for(read_all(), 60)
    finally:
        await consumer.stop()
    assert seen == {f"m{i}".encode() for i in range(20)}
