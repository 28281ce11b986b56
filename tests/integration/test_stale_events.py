"""Events of a deleted or replaced job (real gateway, Postgres, Kafka and S3): the projector ignores those of
a previous submission whatever their timestamp, and a consumer skips them before its handler runs, so nothing
lands under the job's S3 prefix. Events of the current submission are handled as before, and through the
whole pipeline every projected event carries the job's current submission."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
import pytest
from gateway.projector import apply_events
from profiler.handlers import handle as profile
from recast_common.consumer import Consumer
from recast_common.db import session_factory
from recast_common.db.session import asyncpg_dsn
from recast_common.events import Event, JobFailed, JobProfiled, JobSubmitted, Topics, parse_event
from recast_common.kafka import make_broker
from recast_common.stage_files import profile_key
from recast_common.storage import Storage
from test_pipeline_kit import create_client, train, wait_job

pytestmark = pytest.mark.integration

# progress events are stamped too: every handling publishes them, however short
PIPELINE_ENV = {"RECAST_PROGRESS_DELAY_SECONDS": "0"}
TRAIN = {"input_file": "name,age\nAda,36\nAlan,41\n", "expected_output_file": "NAME\nADA\nALAN\n"}


class Job:
    """One job submitted through the real gateway (no relay runs: its events are taken from the outbox)."""

    def __init__(self, stack, url: str):
        self.stack, self.url = stack, url
        self.client = f"stale-{uuid.uuid4().hex[:8]}"
        created = httpx.post(f"{url}/api/v1/admin/clients", json={"client_id": self.client},
                             headers={"X-API-KEY": stack.settings.admin_api_key})
        assert created.status_code == 201, created.text
        self.key = {"X-API-KEY": created.json()["api_key"]}
        self.id: str | None = None

    async def submit(self) -> JobSubmitted:
        """POST /train (replacing the job when it exists); returns the job.submitted event it enqueued."""
        body = {**TRAIN, **({"job_id": self.id} if self.id else {})}
        response = httpx.post(f"{self.url}/api/v1/train", json=body, headers=self.key)
        assert response.status_code == 202, response.text
        self.id = response.json()["job_id"]
        async with self.db() as conn:
            # Taken, and marked sent, so that a relay of a later test does not publish it.
            payload = await conn.fetchval(
                "UPDATE outbox SET sent_at = now() WHERE id = (SELECT max(id) FROM outbox WHERE key = $1 "
                "AND topic = 'job.submitted') RETURNING payload", self.id)
        event = parse_event(json.loads(payload) if isinstance(payload, str) else payload)
        assert isinstance(event, JobSubmitted) and event.submission
        return event

    async def finish(self) -> None:
        async with self.db() as conn:  # no pipeline runs here: end the job as the projector would
            await conn.execute("UPDATE jobs SET status = 'failed' WHERE id = $1", self.id)

    async def row(self) -> asyncpg.Record:
        async with self.db() as conn:
            return await conn.fetchrow("SELECT status, submission, created_at, stage FROM jobs WHERE id = $1",
                                       self.id)

    async def projected_events(self) -> list[str]:
        async with self.db() as conn:
            return [r["event_id"] for r in await conn.fetch(
                "SELECT event_id FROM job_events WHERE job_id = $1 ORDER BY seq", self.id)]

    async def s3_keys(self) -> list[str]:
        async with Storage(self.stack.settings) as storage:
            return sorted(await storage.list_keys(f"{self.client}/{self.id}/"))

    def db(self):
        return _Connection(self.stack)


class _Connection:
    def __init__(self, stack):
        self.dsn = asyncpg_dsn(stack.settings.database_url)

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await asyncpg.connect(self.dsn)
        return self.conn

    async def __aexit__(self, *exc) -> None:
        await self.conn.close()


class ConsumerUnderTest(Consumer):
    """A real consumer around `handler` (default: the real profiler), recording which events reached the
    handler and what it sent (progress and outputs)."""

    def __init__(self, stack, handler=profile):
        self.reached: list[str] = []
        self.sent: list[Event] = []

        async def handle(event, ctx):
            self.reached.append(event.event_id)
            outputs = await handler(event, ctx)
            self.sent.extend(ctx.progress_sent)  # published by ctx.progress straight away
            return outputs

        # progress right away (not only after a second), so that what a handling sends is all seen
        settings = stack.settings.model_copy(update={"progress_delay_seconds": 0})
        super().__init__(f"stale-test-{uuid.uuid4().hex[:6]}", settings, handle)

    async def publish(self, event, topic=None, marks=None):
        await super().publish(event, topic, marks)
        self.sent.append(event)


@pytest.fixture
async def consumers(stack):
    started: list[Consumer] = []

    async def start(handler=profile) -> ConsumerUnderTest:
        consumer = ConsumerUnderTest(stack, handler)
        broker = make_broker(stack.settings)
        await broker.start()
        await consumer.start(broker)
        started.append(consumer)
        return consumer

    yield start
    for consumer in started:
        await consumer.stop()
        await consumer.broker.stop()


@pytest.fixture
async def profiler(consumers):
    return await consumers()


async def test_the_projector_ignores_a_previous_submission_even_when_its_event_is_newer(stack, spawn_gateway):
    job = Job(stack, spawn_gateway().url)
    first = await job.submit()
    await job.finish()
    second = await job.submit()
    row = await job.row()
    assert row["submission"] == second.submission != first.submission and row["status"] == "queued"

    common = {"job_id": job.id, "client_id": job.client, "input_key": "i", "expected_key": "e"}
    # Stamped an hour after the replacement by a host whose clock runs ahead: only the submission tells.
    late_failure = JobFailed(job_id=job.id, client_id=job.client, reason="the old run gave up",
                             submission=first.submission, created_at=row["created_at"] + timedelta(hours=1))
    late_profile = JobProfiled(**common, profile_key="old", submission=first.submission,
                               created_at=datetime.now(timezone.utc) + timedelta(hours=1))
    # And the current submission's event from a host whose clock runs behind.
    current = JobProfiled(**common, profile_key="new", submission=second.submission,
                          created_at=row["created_at"] - timedelta(minutes=10))

    sessions = session_factory(stack.settings)
    assert await apply_events(sessions, [late_failure, late_profile]) == 0
    assert (await job.row())["status"] == "queued" and await job.projected_events() == []
    assert await apply_events(sessions, [late_failure, current, late_profile]) == 1
    after = await job.row()
    assert after["status"] == "planning" and after["submission"] == second.submission
    assert await job.projected_events() == [current.event_id]


async def test_an_event_of_a_deleted_job_reaches_no_handler_and_writes_nothing(stack, spawn_gateway, profiler):
    job = Job(stack, spawn_gateway().url)
    submitted = await job.submit()
    assert len(await job.s3_keys()) == 2  # the train pair
    deleted = httpx.delete(f"{job.url}/api/v1/delete/job/{job.client}/{job.id}", headers=job.key)
    assert deleted.status_code == 204
    assert await job.s3_keys() == []

    body = submitted.model_dump(mode="json")
    assert await profiler.process(Topics.JOB_SUBMITTED, body) == "stale"
    assert await profiler.process(Topics.JOB_SUBMITTED, body) == "duplicate"  # a redelivery changes nothing
    assert profiler.reached == [] and profiler.sent == []
    assert await job.s3_keys() == []


async def test_a_job_deleted_while_its_handler_runs_keeps_no_file_the_handler_wrote(stack, spawn_gateway, consumers):
    job = Job(stack, spawn_gateway().url)
    submitted = await job.submit()
    late_key = f"{job.client}/{job.id}/written-after-the-clean-up.json"

    async def slow_stage(event, ctx):
        # The user deletes the job mid-run; the gateway removes the row and the prefix, then this stage writes.
        async with httpx.AsyncClient(base_url=job.url, headers=job.key) as http:
            assert (await http.delete(f"/api/v1/delete/job/{job.client}/{job.id}")).status_code == 204
        await ctx.storage.put_bytes(late_key, b"{}")
        return [JobProfiled(job_id=event.job_id, client_id=event.client_id, input_key=event.input_key,
                            expected_key=event.expected_key, profile_key=late_key)]

    stage = await consumers(slow_stage)
    assert await stage.process(Topics.JOB_SUBMITTED, submitted.model_dump(mode="json")) == "stale"
    assert stage.reached == [submitted.event_id] and stage.sent == []
    assert await job.s3_keys() == []


async def test_after_a_replacement_only_the_current_submission_is_handled(stack, spawn_gateway, profiler):
    job = Job(stack, spawn_gateway().url)
    first = await job.submit()
    await job.finish()
    second = await job.submit()
    train_pair = await job.s3_keys()
    assert len(train_pair) == 2

    assert await profiler.process(Topics.JOB_SUBMITTED, first.model_dump(mode="json")) == "stale"
    assert profiler.reached == [] and await job.s3_keys() == train_pair

    assert await profiler.process(Topics.JOB_SUBMITTED, second.model_dump(mode="json")) == "handled"
    assert profiler.reached == [second.event_id]
    assert await job.s3_keys() == sorted(train_pair + [profile_key(second.input_key)])
    assert {e.type for e in profiler.sent} == {Topics.JOB_PROGRESS, Topics.JOB_PROFILED}
    assert {e.submission for e in profiler.sent} == {second.submission}


TRAIN_INPUT = "name,city\nAda Lovelace,London\nAlan Turing,Wilmslow\n"
TRAIN_EXPECTED = "city,name\nLondon,Ada Lovelace\nWilmslow,Alan Turing\n"


async def test_every_stage_stamps_the_submission_and_a_replacement_runs_as_before(stack, pipeline):
    client_id, api_key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    job_id = (await asyncio.to_thread(train, pipeline.url, api_key, TRAIN_INPUT, TRAIN_EXPECTED))["job_id"]
    submissions = []
    for replacing in (False, True):
        if replacing:
            replaced = await asyncio.to_thread(
                httpx.post, f"{pipeline.url}/api/v1/train", headers={"X-API-KEY": api_key}, timeout=60,
                json={"job_id": job_id, "input_file": TRAIN_INPUT, "expected_output_file": TRAIN_EXPECTED})
            assert replaced.status_code == 202, replaced.text
        done = await asyncio.to_thread(wait_job, pipeline.url, api_key, client_id, job_id)
        assert done["status"] == "succeeded", done
        async with _Connection(stack) as conn:
            submission = await conn.fetchval("SELECT submission FROM jobs WHERE id = $1", job_id)
            projected = await conn.fetch("SELECT type, payload->>'submission' AS submission FROM job_events "
                                         "WHERE job_id = $1", job_id)
        submissions.append(submission)
        assert {r["type"] for r in projected} >= {Topics.JOB_PROFILED, Topics.JOB_PLANNED, Topics.JOB_CODED,
                                                   Topics.JOB_SUCCEEDED, Topics.JOB_PROGRESS}
        assert {r["submission"] for r in projected} == {submission}
    assert submissions[0] and submissions[1] and submissions[0] != submissions[1]
