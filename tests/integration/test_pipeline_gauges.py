"""The gateway's pipeline gauges on the real stack: a queued job, its unsent outbox row, a dead letter."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaProducer
from gateway import pipeline_metrics
from prometheus_client import REGISTRY
from recast_common.db.session import make_engine
from recast_common.events import Topics
from recast_common.kafka import ensure_topics
from sqlalchemy.ext.asyncio import async_sessionmaker
from test_pipeline_kit import create_client, train

pytestmark = pytest.mark.integration


def gauge(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_job_nobody_works_on_shows_as_active_queued_and_ageing_with_its_outbox_row_unsent(
    stack, spawn_gateway
):
    gateway = spawn_gateway()  # no relay and no consumers: the job stays queued, its event in the outbox
    _, key = await asyncio.to_thread(create_client, gateway.url, stack.settings.admin_api_key)
    await asyncio.to_thread(train, gateway.url, key, "a,b\n1,2\n", "b,a\n2,1\n")
    await asyncio.sleep(1.1)
    engine = make_engine(stack.settings.database_url)
    try:
        await pipeline_metrics.sample_database(async_sessionmaker(engine, expire_on_commit=False))
    finally:
        await engine.dispose()
    assert gauge("recast_active_jobs", stage="queued") >= 1
    assert gauge("recast_oldest_active_job_age_seconds") >= 1.0
    assert gauge("recast_outbox_backlog") >= 1
    assert gauge("recast_outbox_oldest_unsent_age_seconds") >= 1.0


async def test_the_dead_letter_depth_counts_the_messages_a_dlq_topic_holds(stack):
    topic = Topics.dlq(Topics.JOB_CODED)
    await ensure_topics(stack.settings)
    await pipeline_metrics.sample_dlq(stack.settings)
    before = gauge("recast_dlq_messages", topic=topic)
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(topic, value=b'{"error": "test"}', key=f"gauge-{time.time()}".encode())
    finally:
        await producer.stop()
    await pipeline_metrics.sample_dlq(stack.settings)
    assert gauge("recast_dlq_messages", topic=topic) == before + 2
