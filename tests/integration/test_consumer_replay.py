"""A handler's outputs commit with its inbox claim: a redelivery after a crash or a failed publish sends exactly
those events again and never runs the handler a second time (real Postgres and Kafka)."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from recast_common.consumer import Consumer
from recast_common.events import JobProgress, JobSubmitted, Topics
from recast_common.kafka import make_broker

pytestmark = pytest.mark.integration


class ProcessDied(BaseException):
    """Stands for the process being killed: not an Exception, so no retry loop catches it."""


class RecordingConsumer(Consumer):
    """A real consumer whose publish can be made to fail, and which remembers what it did publish."""

    def __init__(self, *args, fail_first_publish: BaseException | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_first_publish = fail_first_publish
        self.published: list[JobProgress] = []

    async def publish(self, event, topic=None, marks=None):
        if self.fail_first_publish is not None:
            failure, self.fail_first_publish = self.fail_first_publish, None
            raise failure
        await super().publish(event, topic, marks)
        self.published.append(event)


def a_handler_that_answers_differently_each_run():
    runs: list[int] = []

    async def handle(event, ctx):
        runs.append(len(runs) + 1)
        return [JobProgress(job_id=event.job_id, client_id=event.client_id, stage="replay-test",
                            message=f"answer of run {len(runs)}")]

    return handle, runs


def submitted() -> JobSubmitted:
    return JobSubmitted(job_id=f"replay-{uuid.uuid4().hex[:8]}", client_id="replay-client",
                        input_key="in.csv", expected_key="out.csv")


async def started(consumer: Consumer, stack) -> Consumer:
    broker = make_broker(stack.settings)
    await broker.start()
    await consumer.start(broker)
    return consumer


async def stopped(consumer: Consumer) -> None:
    await consumer.stop()
    await consumer.broker.stop()


async def test_a_redelivery_after_a_crash_sends_the_first_answer_without_running_the_handler(stack):
    handle, runs = a_handler_that_answers_differently_each_run()
    event = submitted()
    body = event.model_dump(mode="json")

    dying = await started(RecordingConsumer("replay-group", stack.settings, handle,
                                            fail_first_publish=ProcessDied()), stack)
    try:
        with pytest.raises(ProcessDied):
            await dying.process(Topics.JOB_SUBMITTED, body)
    finally:
        await stopped(dying)
    assert runs == [1] and dying.published == []  # the answer was committed, never sent

    replica = await started(RecordingConsumer("replay-group", stack.settings, handle), stack)
    try:
        assert await replica.process(Topics.JOB_SUBMITTED, body) == "replayed"
        assert await replica.process(Topics.JOB_SUBMITTED, body) == "duplicate"
    finally:
        await stopped(replica)
    assert runs == [1]
    assert [e.message for e in replica.published] == ["answer of run 1"]


async def test_a_failed_publish_is_retried_with_the_stored_answer(stack):
    handle, runs = a_handler_that_answers_differently_each_run()
    event = submitted()
    consumer = await started(RecordingConsumer("replay-retry-group", stack.settings, handle,
                                               fail_first_publish=RuntimeError("the broker refused the batch")),
                             stack)
    try:
        assert await consumer.process(Topics.JOB_SUBMITTED, event.model_dump(mode="json")) == "replayed"
    finally:
        await stopped(consumer)
    assert runs == [1]
    assert [e.message for e in consumer.published] == ["answer of run 1"]


async def test_a_handler_failure_stores_nothing_and_runs_again(stack):
    calls: list[int] = []

    async def flaky(event, ctx):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first try fails")
        return [JobProgress(job_id=event.job_id, client_id=event.client_id, stage="replay-test", message="ok")]

    consumer = await started(RecordingConsumer("replay-flaky-group", stack.settings, flaky), stack)
    try:
        result = await asyncio.wait_for(consumer.process(Topics.JOB_SUBMITTED, submitted().model_dump(mode="json")),
                                        60)
    finally:
        await stopped(consumer)
    assert result == "handled" and len(calls) == 2
    assert [e.message for e in consumer.published] == ["ok"]
