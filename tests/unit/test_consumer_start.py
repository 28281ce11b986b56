"""A consumer starts in the background while its group join waits at the broker: the first message waits for
that start, and a consumer stopped before it finished stops cleanly."""
from __future__ import annotations

import asyncio
import sys
import uuid

import pytest
from recast_common.consumer import Consumer
from recast_common.consumers import LazyHandler
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


async def test_a_lazy_handler_is_imported_by_the_start_and_handles_the_messages(tmp_path, monkeypatch):
    module = f"lazy_probe_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text("async def handle(event, ctx):\n    return ['handled']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    consumer = Consumer("probe", UNREACHABLE, LazyHandler(f"{module}:handle"))
    assert module not in sys.modules
    consumer.start_soon(None)
    await consumer.loaded()
    assert module in sys.modules
    assert await consumer.handle(None, None) == ["handled"]
    await consumer.stop()


async def test_a_handler_that_cannot_be_imported_fails_the_start():
    consumer = Consumer("probe", UNREACHABLE, LazyHandler("no_such_module_of_recast:handle"))
    consumer.start_soon(None)
    with pytest.raises(ModuleNotFoundError):
        await consumer.loaded()
    with pytest.raises(ModuleNotFoundError):
        await consumer._starting  # what process() awaits first: the message is nacked
    await consumer.stop()
