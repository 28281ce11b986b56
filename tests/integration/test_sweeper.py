"""The sweeper (`python -m sweeper`): a job stuck after a lost message is re-driven from its last event and
finishes; a job that was only waiting behind a consumer's lag when it was re-driven runs each stage once (the
re-drive is its last event under its own id: no handler runs twice, a stage that had handled it sends its stored
outputs on again); one that re-drives cannot move is failed with the reason, however short the retention (the
re-drive rows that count them are kept while the job runs); S3 objects without their row are removed after the
grace period (only reported in dry-run mode); rows whose objects are missing are reported; sent outbox rows and
published inbox rows past the retention are pruned, nothing else."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
from recast_common.db import session_factory
from recast_common.db.models import InboxRow, Job, JobEvent, OutboxRow
from recast_common.events import REDRIVE_MARK, JobSubmitted, parse_event
from recast_common.storage import Storage
from sqlalchemy import select
from sweeper.settings import SweeperSettings
from sweeper.sweep import Sweeper
from test_pipeline_kit import API, create_client, publish, put_objects, wait_job

INPUT = b"name,city\nAda,London\nAlan,Wilmslow\nGrace,Arlington\n"
EXPECTED = b"city,name\nLondon,Ada\nWilmslow,Alan\nArlington,Grace\n"
LONG_AGO = timedelta(hours=2)


def config(**overrides) -> SweeperSettings:
    values = {"stuck_after_seconds": 60, "orphan_grace_seconds": 0, "retention_seconds": 86400,
              "missing_check_batch": 10_000} | overrides
    return SweeperSettings(**values)


async def sweep(settings, **overrides):
    async with Storage(settings) as storage:
        return await Sweeper(config(**overrides), session_factory(settings), storage).run_pass()


async def stuck_job(settings, client: str, with_event: bool = True) -> str:
    """A job whose job.submitted was projected but whose profiler message was lost two hours ago."""
    job, submission = uuid.uuid4().hex, uuid.uuid4().hex
    folder = f"{client}/{job}/train-{submission[:12]}/"
    await put_objects(settings, {folder + "input.csv": INPUT, folder + "expected.csv": EXPECTED})
    event = JobSubmitted(job_id=job, client_id=client, submission=submission, input_key=folder + "input.csv",
                         expected_key=folder + "expected.csv")
    then = datetime.now(timezone.utc) - LONG_AGO
    async with session_factory(settings)() as session, session.begin():
        session.add(Job(id=job, client_id=client, status="profiling", stage="profiling", input_key=event.input_key,
                        expected_key=event.expected_key, submission=submission, last_seq=1 if with_event else 0,
                        created_at=then, updated_at=then))
        await session.flush()
        if with_event:
            session.add(JobEvent(event_id=event.event_id, job_id=job, seq=1, type=event.type,
                                 payload=event.model_dump(mode="json")))
    return job


async def test_a_stuck_job_is_redriven_from_its_last_event_and_finishes(pipeline):
    client, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    job = await stuck_job(pipeline.settings, client)
    dry = await sweep(pipeline.settings, dry_run=True)
    assert job in dry.redriven
    report = await sweep(pipeline.settings)
    assert job in report.redriven and job not in report.failed
    body = await asyncio.to_thread(wait_job, pipeline.url, key, client, job, 180)
    assert body["status"] == "succeeded", body


STAGES = ("profiler", "planner", "coder", "tester")


def stage_log(pipeline, stage: str, job: str) -> list[str]:
    """The messages the stage's service logged for `job` (its JSON log lines bound to the job)."""
    lines = []
    for line in pipeline.processes[stage].log_path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("job_id") == job or f'"job_id": "{job}"' in entry.get("message", ""):
            lines.append(entry.get("message", ""))
    return lines


async def test_a_job_waiting_behind_a_consumers_lag_is_redriven_without_running_a_stage_twice(pipeline):
    settings = pipeline.settings
    client, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    job = await stuck_job(settings, client)
    async with session_factory(settings)() as session:
        submitted = parse_event((await session.scalars(select(JobEvent.payload).where(JobEvent.job_id == job))).one())
    profiler = pipeline.processes["profiler"]
    os.kill(profiler.pid, signal.SIGSTOP)  # its group stops consuming: what is published now waits in its lag
    try:
        await publish(settings, submitted)  # the job's message, not lost: only late
        report = await sweep(settings)
        assert job in report.redriven
        async with session_factory(settings)() as session:
            redrive = (await session.scalars(select(OutboxRow).where(OutboxRow.key == job))).one()
        assert redrive.payload["event_id"] == submitted.event_id and redrive.payload[REDRIVE_MARK] == 1
        deadline = time.monotonic() + 60
        while redrive.sent_at is None:  # the relay put the copy behind the original
            assert time.monotonic() < deadline, "the relay did not send the re-drive"
            await asyncio.sleep(0.2)
            async with session_factory(settings)() as session:
                redrive = await session.get(OutboxRow, redrive.id)
    finally:
        os.kill(profiler.pid, signal.SIGCONT)
    body = await asyncio.to_thread(wait_job, pipeline.url, key, client, job, 180)
    assert body["status"] == "succeeded", body
    deadline = time.monotonic() + 60
    # each stage took the copy for what it is and sent its stored outputs on (the last stage's reach the projector)
    while not all(any("(re-drive 1)" in m for m in stage_log(pipeline, s, job)) for s in STAGES):
        assert time.monotonic() < deadline, {s: stage_log(pipeline, s, job) for s in STAGES}
        await asyncio.sleep(0.5)
    handled = {s: sum(m.startswith("handled ") for m in stage_log(pipeline, s, job)) for s in STAGES}
    assert handled == dict.fromkeys(STAGES, 1), handled
    async with session_factory(settings)() as session:
        types = list(await session.scalars(select(JobEvent.type).where(JobEvent.job_id == job)))
    assert types.count("job.succeeded") == 1 and types.count("job.submitted") == 1, types


async def test_a_job_that_redrives_cannot_move_is_failed_with_the_reason(pipeline):
    client, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    job = await stuck_job(pipeline.settings, client, with_event=False)  # no event anywhere to re-drive from
    report = await sweep(pipeline.settings, max_redrives=0)
    assert job in report.failed
    body = await asyncio.to_thread(wait_job, pipeline.url, key, client, job, 60)
    assert body["status"] == "failed" and "sweeper" in (body.get("error") or json.dumps(body)), body
    again = await sweep(pipeline.settings, max_redrives=0)
    assert job not in again.failed  # touched: a whole threshold before it could be looked at again


async def test_orphans_are_removed_after_the_grace_period_and_only_reported_in_dry_run(pipeline):
    settings = pipeline.settings
    client, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    live = await stuck_job(settings, client)
    async with session_factory(settings)() as session:
        row = await session.get(Job, live)
    ghost = f"{client}/{uuid.uuid4().hex}/train-abc/input.csv"
    stale_run = f"{client}/{live}/runs/{uuid.uuid4().hex}/input.csv"
    old_submission = f"{client}/{live}/train-000000000000/input.csv"
    await put_objects(settings, {ghost: b"a\n", stale_run: b"a\n", old_submission: b"a\n"})
    orphans = {ghost, stale_run, old_submission}

    kept = await sweep(settings, orphan_grace_seconds=3600, stuck_after_seconds=10**6)
    assert not orphans & set(kept.orphans)  # younger than the grace period

    env = {**pipeline.env, "RECAST_SWEEPER_ORPHAN_GRACE_SECONDS": "0", "RECAST_SWEEPER_STUCK_AFTER_SECONDS": "1e6"}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "sweeper", "--once", "--dry-run"],
                                   env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    dry = json.loads(done.stdout.strip().splitlines()[-1])
    assert dry["dry_run"] is True and orphans <= set(dry["orphan_keys"])
    async with Storage(settings) as storage:
        assert all([await storage.exists(k) for k in orphans])

    report = await sweep(settings, stuck_after_seconds=10**6)
    assert orphans <= set(report.orphans)
    async with Storage(settings) as storage:
        assert not any([await storage.exists(k) for k in orphans])
        assert await storage.exists(row.input_key) and await storage.exists(row.expected_key)
    assert httpx.get(f"{pipeline.url}{API}/{client}/{live}", headers={"X-API-KEY": key}).status_code == 200


async def test_rows_whose_objects_are_missing_are_reported(pipeline):
    settings = pipeline.settings
    client, _ = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    job = await stuck_job(settings, client)
    async with session_factory(settings)() as session:
        row = await session.get(Job, job)
    async with Storage(settings) as storage:
        await storage.delete_keys([row.expected_key])
    report = await sweep(settings, stuck_after_seconds=10**6, orphan_grace_seconds=10**6)
    assert (job, row.expected_key) in report.missing
    assert (job, row.input_key) not in report.missing


async def test_sent_outbox_and_published_inbox_rows_past_retention_are_pruned(pipeline):
    settings = pipeline.settings
    old = datetime.now(timezone.utc) - timedelta(days=3)
    tag = uuid.uuid4().hex
    async with session_factory(settings)() as session, session.begin():
        session.add_all([
            OutboxRow(topic="t", key=f"sent-{tag}", payload={}, created_at=old, sent_at=old),
            OutboxRow(topic="t", key=f"unsent-{tag}", payload={}, created_at=old),
            InboxRow(consumer=f"c-{tag}", event_id=f"published-{tag}", processed_at=old, published_at=old),
            InboxRow(consumer=f"c-{tag}", event_id=f"pending-{tag}", processed_at=old),
        ])
    report = await sweep(settings, stuck_after_seconds=10**6, orphan_grace_seconds=10**6)
    assert report.outbox_pruned >= 1 and report.inbox_pruned >= 1
    async with session_factory(settings)() as session:
        keys = set(await session.scalars(select(OutboxRow.key).where(OutboxRow.key.like(f"%-{tag}"))))
        events = set(await session.scalars(select(InboxRow.event_id).where(InboxRow.consumer == f"c-{tag}")))
    assert keys == {f"unsent-{tag}"}
    assert events == {f"pending-{tag}"}


async def test_the_redrive_count_survives_a_retention_of_zero(pipeline):
    """The marked outbox rows are the re-drive count: pruning keeps them while their job is in a pipeline status
    (else a job that never moves would be re-driven forever), and prunes them once it is not."""
    settings = pipeline.settings
    client, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    job = await stuck_job(settings, client)
    done = await stuck_job(settings, client)
    old = datetime.now(timezone.utc) - timedelta(days=3)
    async with session_factory(settings)() as session, session.begin():
        rows = {}
        for job_id in (job, done):
            row = await session.get(Job, job_id)
            payload = (await session.scalars(select(JobEvent.payload).where(JobEvent.job_id == job_id))).one()
            # re-driven once already, long ago; the row moved since (not stuck now)
            rows[job_id] = OutboxRow(topic=payload["type"], key=job_id, payload={**payload, REDRIVE_MARK: 1},
                                     created_at=old, sent_at=old)
            session.add(rows[job_id])
            row.updated_at = datetime.now(timezone.utc)
        (await session.get(Job, done)).status = "succeeded"
    report = await sweep(settings, retention_seconds=0, max_redrives=1)
    assert job not in report.redriven and job not in report.failed
    async with session_factory(settings)() as session:
        kept = set(await session.scalars(select(OutboxRow.key).where(OutboxRow.key.in_([job, done]))))
    assert kept == {job}  # the running job's count is kept, the finished one's row pruned
    async with session_factory(settings)() as session, session.begin():
        (await session.get(Job, job)).updated_at = datetime.now(timezone.utc) - LONG_AGO  # stuck again
    report = await sweep(settings, retention_seconds=0, max_redrives=1)
    assert job in report.failed and job not in report.redriven  # the cap held: no second re-drive
    body = await asyncio.to_thread(wait_job, pipeline.url, key, client, job, 60)
    assert body["status"] == "failed" and "1 re-drive(s) did not move it" in (body.get("error") or json.dumps(body))
