"""make run's supervision of its infrastructure (Stack.keep_alive) restarts an embedded Postgres that went away,
except while a chaos run holds it down for an outage of its own length."""
from __future__ import annotations

import asyncio

from recast_devstack.stack import POSTGRES, Stack, StackConfig


class FakePostgres:
    embedded = True

    def __init__(self) -> None:
        self.up = False
        self.starts = 0

    def running(self) -> bool:
        return self.up

    async def start_again(self) -> None:
        self.starts += 1
        self.up = True


async def supervise_for(stack: Stack, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(stack.keep_alive(stop, poll_seconds=0.01))
    await asyncio.sleep(seconds)
    stop.set()
    await task


async def test_a_postgres_that_went_away_is_started_again(tmp_path):
    stack = Stack(StackConfig(data_dir=tmp_path))
    stack.pg = FakePostgres()
    await supervise_for(stack, 0.1)
    assert stack.pg.starts == 1 and stack.pg.up


async def test_a_held_postgres_stays_down_until_it_is_released(tmp_path):
    stack = Stack(StackConfig(data_dir=tmp_path))
    stack.pg = FakePostgres()
    stack.held.add(POSTGRES)
    await supervise_for(stack, 0.1)
    assert stack.pg.starts == 0
    stack.held.discard(POSTGRES)
    await supervise_for(stack, 0.1)
    assert stack.pg.starts == 1
