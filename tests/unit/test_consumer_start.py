"""A consumer starts in the background while its group join waits at the broker: the first message waits for
that start, and a consumer stopped before it finished stops cleanly."""
from __future__ import annotations

import asyncio

from recast_common.consumer import Consumer
from recast_common.settings import Settings

UNREACHABLE = Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", s3_endpoint="http://127.0.0.1:1")


async def handle(event, ctx):
    return []


async def test_a_message_waits_for_the_start_begun_in_the_background():
    consumer = Consumer("probe", UNREACHABLE, handle)
    consumer.start_soon(None)
    assert consumer.storage is None
    await consumer._starting  # what process() awaits first: no database yet is no failure
    assert consumer.storage is not None and consumer._sessions is not None
    await consumer.stop()
    assert consumer.storage is None


async def test_a_consumer_stopped_while_it_starts_stops_cleanly():
    consumer = Consumer("probe", UNREACHABLE, handle)
    consumer.start_soon(None)
    await asyncio.sleep(0)
    await consumer.stop()
    assert consumer._starting.done() and consumer.storage is None
