"""Two replicas of one consumer (the profiler) share the partitions of its topic, every job is handled exactly
once (inbox), and when one replica is killed the other takes over its partitions."""
from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

from recast_common.events import JobSubmitted, Topics
from recast_common.kafka import queue_status
from test_pipeline_kit import EventLog, new_id, publish, put_objects

JOBS_PER_BATCH = 16


def handled(log_file: Path) -> list[dict]:
    if not log_file.exists():
        return []
    return [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]


async def handled_by(logs: list[Path], event_ids: set[str], timeout: float = 30.0) -> list[dict]:
    """The log lines of `event_ids`, once every one is there: a replica writes its line after it publishes, so
    the output event can be seen a moment before the line is."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [h for path in logs for h in handled(path) if h["event_id"] in event_ids]
        if {h["event_id"] for h in rows} == event_ids or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


async def wait_for_members(settings, group: str, count: int, timeout: float = 40.0) -> None:
    """Until the group has `count` members (or, when the broker cannot tell, a rebalance's worth of time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = (await queue_status(settings, [group]))[group]
        if status["members"] is None:
            await asyncio.sleep(12)
            return
        if status["members"] == count:
            await asyncio.sleep(2)  # the assignment follows the join
            return
        await asyncio.sleep(1)
    raise AssertionError(f"group {group} did not reach {count} members: {status}")


async def submit_batch(settings, client: str, count: int) -> list[JobSubmitted]:
    events, objects = [], {}
    for _ in range(count):
        job = new_id("j")
        prefix = f"{client}/{job}"
        objects |= {f"{prefix}/input.csv": b"a,b\n1,2\n", f"{prefix}/expected.csv": b"b,a\n2,1\n"}
        events.append(JobSubmitted(job_id=job, client_id=client, input_key=f"{prefix}/input.csv",
                                   expected_key=f"{prefix}/expected.csv"))
    await put_objects(settings, objects)
    await publish(settings, *events)
    return events


async def test_two_replicas_share_partitions_and_handle_each_job_once(stack, spawn, tmp_path):
    settings = stack.settings
    logs = {name: tmp_path / f"{name}.jsonl" for name in ("replica-a", "replica-b")}
    replicas = {name: spawn("profiler", extra_env={"RECAST_REPLICA_ID": name, "RECAST_HANDLED_LOG": str(path)})
                for name, path in logs.items()}
    await wait_for_members(settings, "profiler", 2)
    client = new_id("c")

    async with EventLog(settings, [Topics.JOB_PROFILED]) as log:
        first = await submit_batch(settings, client, JOBS_PER_BATCH)
        for event in first:
            await log.wait_for(lambda e, j=event.job_id: e.job_id == j, timeout=120, what=f"profile of {event.job_id}")
        first_ids = {e.event_id for e in first}
        await handled_by(list(logs.values()), first_ids)
        by_replica = {name: [h for h in handled(path) if h["event_id"] in first_ids] for name, path in logs.items()}
        assert all(by_replica.values()), f"one replica handled nothing: { {k: len(v) for k, v in by_replica.items()} }"
        counts = Counter(h["event_id"] for rows in by_replica.values() for h in rows)
        assert set(counts) == first_ids and set(counts.values()) == {1}

        # kill -9 one replica: the survivor takes over its partitions after the session timeout
        replicas["replica-a"].kill()
        second = await submit_batch(settings, client, JOBS_PER_BATCH // 2)
        for event in second:
            await log.wait_for(lambda e, j=event.job_id: e.job_id == j, timeout=120, what=f"profile of {event.job_id}")
        second_ids = {e.event_id for e in second}
        survivor = Counter(h["event_id"] for h in await handled_by([logs["replica-b"]], second_ids))
        assert set(survivor) == second_ids
        jobs = {x.job_id for x in first + second}
        unique = {(e.job_id, e.event_id): e for e in log.events}.values()
        profiled = Counter(e.job_id for e in unique if e.job_id in jobs)
        assert profiled.keys() == jobs and set(profiled.values()) == {1}  # a replay would carry the same event id

        # graceful shutdown: SIGTERM ends the survivor cleanly (exit code 0, no SIGKILL needed)
        assert replicas["replica-b"].stop(timeout=20) == 0, replicas["replica-b"].tail()
