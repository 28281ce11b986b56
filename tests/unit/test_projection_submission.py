"""Per-submission identity (pure): which events are stale for a job, and how the identity travels from an
input event to every event a consumer emits for it."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

from gateway.core.projection import JobView, is_stale, project
from recast_common import metrics
from recast_common.consumer import HandlerContext, _with_derived_ids
from recast_common.events import JobFailed, JobProfiled, JobSubmitted, parse_event
from recast_common.settings import Settings

CREATED = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
CURRENT, PREVIOUS = "sub-current", "sub-previous"


def profiled(submission: str | None, created_at: datetime) -> JobProfiled:
    return JobProfiled(job_id="j", client_id="c", input_key="i", expected_key="e", profile_key="p",
                       submission=submission, created_at=created_at)


def queued_job(submission: str | None = CURRENT) -> JobView:
    return JobView(status="queued", attempt=1, created_at=CREATED, submission=submission)


def test_an_event_of_a_previous_submission_is_ignored_even_when_stamped_after_the_job():
    late_clock = profiled(PREVIOUS, CREATED + timedelta(hours=1))
    assert is_stale(queued_job(), late_clock)
    assert project(queued_job(), late_clock).empty
    failure = JobFailed(job_id="j", client_id="c", reason="old run gave up", submission=PREVIOUS,
                        created_at=CREATED + timedelta(minutes=5))
    assert project(queued_job(), failure).job == {}


def test_an_event_of_the_current_submission_applies_even_when_stamped_before_the_job():
    # Another host's clock runs behind the gateway's: the timestamp no longer decides.
    skewed = profiled(CURRENT, CREATED - timedelta(minutes=10))
    assert not is_stale(queued_job(), skewed)
    assert project(queued_job(), skewed).job["status"] == "planning"


def test_an_event_with_a_submission_is_stale_for_a_job_row_from_before_submissions():
    assert project(queued_job(submission=None), profiled(CURRENT, CREATED + timedelta(seconds=1))).empty


def test_events_of_older_producers_fall_back_to_the_timestamp():
    assert project(queued_job(), profiled(None, CREATED - timedelta(seconds=5))).empty
    assert project(queued_job(), profiled(None, CREATED + timedelta(seconds=5))).job["status"] == "planning"


def test_a_v1_event_without_the_field_still_parses_and_the_field_round_trips():
    old = {"schema_version": 1, "event_id": "e1", "job_id": "j", "client_id": "c", "attempt": 1,
           "created_at": CREATED.isoformat(), "type": "job.submitted", "input_key": "i", "expected_key": "e"}
    event = parse_event(json.dumps(old))
    assert isinstance(event, JobSubmitted) and event.submission is None
    stamped = parse_event(event.model_copy(update={"submission": CURRENT}).model_dump_json())
    assert stamped.submission == CURRENT


def test_every_output_of_a_handler_carries_the_input_submission_and_a_derived_id():
    source = JobSubmitted(job_id="j", client_id="c", input_key="i", expected_key="e", submission=CURRENT)
    outputs = _with_derived_ids(
        [profiled(None, CREATED), JobFailed(job_id="j", client_id="c", reason="x")], source, "profiler"
    )
    assert [o.submission for o in outputs] == [CURRENT, CURRENT]
    assert len({o.event_id for o in outputs}) == 2
    legacy = source.model_copy(update={"submission": None})
    assert [o.submission for o in _with_derived_ids([profiled(None, CREATED)], legacy, "profiler")] == [None]


async def test_progress_events_carry_the_input_submission():
    source = JobSubmitted(job_id="j", client_id="c", input_key="i", expected_key="e", submission=CURRENT)
    ctx = HandlerContext("profiler", Settings(progress_delay_seconds=0), storage=None, broker=None, event=source)
    await ctx.progress("profiling", 50, "halfway")
    assert [p.submission for p in ctx.progress_sent] == [CURRENT]


def test_stale_is_a_consumer_outcome():
    assert metrics.outcome_label("stale") == "stale"
    assert "stale" in metrics.OUTCOMES


async def test_a_handling_shorter_than_the_progress_delay_publishes_no_progress():
    source = JobSubmitted(job_id="j", client_id="c", input_key="i", expected_key="e", submission=CURRENT)
    ctx = HandlerContext("profiler", Settings(progress_delay_seconds=0.2), storage=None, broker=None, event=source)
    await ctx.progress("profiling", 5, "started")
    await ctx.finish([profiled(None, CREATED)])
    await asyncio.sleep(0.3)
    assert ctx.progress_sent == []


async def test_a_longer_handling_publishes_its_latest_progress_once_the_delay_passed():
    source = JobSubmitted(job_id="j", client_id="c", input_key="i", expected_key="e", submission=CURRENT)
    ctx = HandlerContext("profiler", Settings(progress_delay_seconds=0.2), storage=None, broker=None, event=source)
    await ctx.progress("profiling", 5, "started")
    await ctx.progress("profiling", 40, "reading")
    await asyncio.sleep(0.3)
    await ctx.progress("profiling", 80, "almost")
    await ctx.finish([])
    assert [p.percent for p in ctx.progress_sent] == [40, 80]


async def test_a_short_handling_that_produces_no_event_publishes_its_latest_progress():
    source = JobSubmitted(job_id="j", client_id="c", input_key="i", expected_key="e", submission=CURRENT)
    ctx = HandlerContext("tester", Settings(progress_delay_seconds=5), storage=None, broker=None, event=source)
    await ctx.progress("inference", 0, "chunk 1/4 converting")
    await ctx.progress("inference", 25, "chunk 1/4 done")
    await ctx.finish([])
    assert [p.message for p in ctx.progress_sent] == ["chunk 1/4 done"]
