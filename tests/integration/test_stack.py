"""The embedded stack answers: S3 put/get with our keys, Postgres in a fresh database, Kafka round trip."""
from __future__ import annotations

import asyncio
import importlib.util
import urllib.request

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from botocore.exceptions import ClientError
from recast_common.events import JobProgress
from recast_common.kafka import publish_event
from recast_devstack.pgurls import database_of, to_asyncpg_url
from recast_devstack.seaweed import S3Credentials, s3_client

pytestmark = pytest.mark.integration


def test_env_has_every_setting(stack):
    for name in ("RECAST_DATABASE_URL", "RECAST_KAFKA_BOOTSTRAP", "RECAST_S3_ENDPOINT", "RECAST_S3_BUCKET",
                 "RECAST_S3_ACCESS_KEY", "RECAST_S3_SECRET_KEY", "RECAST_ADMIN_API_KEY"):
        assert stack.env[name], name
    assert stack.env["RECAST_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert stack.settings.kafka_bootstrap == stack.env["RECAST_KAFKA_BOOTSTRAP"]


def test_s3_put_get_with_configured_keys(stack):
    s = stack.settings
    client = s3_client(s.s3_endpoint, S3Credentials(s.s3_access_key, s.s3_secret_key))
    try:
        client.put_object(Bucket=s.s3_bucket, Key="tests/stack/hello.txt", Body=b"hello, recast")
        body = client.get_object(Bucket=s.s3_bucket, Key="tests/stack/hello.txt")["Body"].read()
        assert body == b"hello, recast"
    finally:
        client.close()


def test_s3_rejects_wrong_secret(stack):
    s = stack.settings
    client = s3_client(s.s3_endpoint, S3Credentials(s.s3_access_key, "not-the-secret"))
    try:
        with pytest.raises(ClientError):
            client.put_object(Bucket=s.s3_bucket, Key="tests/stack/intruder.txt", Body=b"x")
    finally:
        client.close()


async def test_postgres_fresh_database_with_migrations(stack):
    url = to_asyncpg_url(stack.env["RECAST_DATABASE_URL"])
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT current_database()") == database_of(url) == stack.database_name
        assert stack.database_name.startswith("recast_test_")
        if importlib.util.find_spec("recast_common.db.migrate") is not None:
            assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await conn.close()


async def test_kafka_produce_then_consume(stack):
    event = JobProgress(job_id="job-stack-roundtrip", client_id="c1", stage="test", percent=50)
    producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap)
    await producer.start()
    try:
        await publish_event(producer, event)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        event.type, bootstrap_servers=stack.settings.kafka_bootstrap, group_id="test-stack-roundtrip",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async def find() -> bytes:
            async for message in consumer:
                if message.key == event.job_id.encode():
                    return message.value
        value = await asyncio.wait_for(find(), 30)
    finally:
        await consumer.stop()
    assert JobProgress.model_validate_json(value).event_id == event.event_id


def test_spawn_gateway_is_healthy(spawn_gateway):
    gateway = spawn_gateway()
    with urllib.request.urlopen(gateway.url + "/health", timeout=5) as response:
        assert response.status == 200
    gateway.stop()
    assert not gateway.running
