"""Projector (`python -m gateway.projector`): materializes pipeline events into Postgres.

Consumer group "projector" over its topics in recast_common.consumers (events.Topics.PROJECTED), from the earliest
offset, committing after handling.
Each event is applied in one transaction: a unique insert into job_events (the idempotency key is event_id,
so a redelivered event changes nothing), then the job / attempt / inference run changes computed by
core.projection, then NOTIFY so a gateway request waiting on an inference run wakes up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from opentelemetry import trace
from recast_common.consumers import consumer
from recast_common.db.models import Artifact, Attempt, DataProfile, InferenceRun, Job, JobEvent
from recast_common.db.session import make_engine
from recast_common.errors import is_transient
from recast_common.events import Event, Topics, parse_event
from recast_common.kafka import group_timing
from recast_common.logs import setup_logging
from recast_common.membership import ResumingListener, member_listener
from recast_common.metrics import mark_ready, serve_metrics_from_env
from recast_common.settings import Settings
from recast_common.tracing import consume_span, setup_tracing, shutdown_tracing, span
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.core.projection import TERMINAL, JobView, Projection, is_stale, project
from gateway.job_metrics import observe_job_finished
from gateway.notify import INFERENCE_CHANNEL, JOB_CHANNEL
from gateway.startup import start_with_retry

log = logging.getLogger("gateway.projector")

CONSUMER = consumer("projector")
GROUP = CONSUMER.group
HANDLE_RETRIES = 3


async def apply_event(sessions: async_sessionmaker, event: Event) -> bool:
    """Project one event in its own transaction. False when it was seen before, its job no longer exists or
    it belongs to a submission the job id had before it was replaced."""
    return await apply_events(sessions, [event]) > 0


async def apply_events(sessions: async_sessionmaker, events: list[Event]) -> int:
    """Project a batch in one transaction (all or nothing); returns how many events were new.

    Jobs are locked in job id order, so two replicas projecting overlapping jobs cannot deadlock; each job's
    events keep the order they arrived in. Jobs that reached their end are observed in
    recast_job_duration_seconds after the commit, so a rolled-back batch observes nothing.
    """
    by_job: dict[str, list[Event]] = {}
    seen: set[str] = set()
    for event in events:
        if event.event_id not in seen:  # a redelivery inside the same poll
            seen.add(event.event_id)
            by_job.setdefault(event.job_id, []).append(event)
    finished: list[FinishedJob] = []
    async with sessions() as session, session.begin():
        applied = 0
        for job_id in sorted(by_job):
            applied += await _apply_job_events(session, job_id, by_job[job_id], finished)
    for outcome, created_at, finished_at in finished:
        observe_job_finished(outcome, created_at, finished_at)
    return applied


FinishedJob = tuple[str, datetime, datetime]  # (terminal status, job created_at, terminal event created_at)


async def _apply_job_events(
    session: AsyncSession, job_id: str, events: list[Event], finished: list[FinishedJob]
) -> int:
    """One job's events: record them (unique event_id), fold their projections, update the job once.

    Appends to `finished` when a newly applied event moved the job into succeeded or failed (at most once per
    job: a terminal job does not move again).
    """
    job = await session.scalar(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    )
    if job is None:
        return 0  # deleted (or replaced and gone): nothing to project onto
    current = JobView(status=job.status, attempt=job.attempt, created_at=job.created_at, submission=job.submission)
    # Events of a submission this job id had before it was replaced stay out of its history too.
    events = [e for e in events if not is_stale(current, e)]
    if not events:
        return 0
    # Under the job's row lock nobody else inserts this job's events, so the check is exact and the
    # sequence stays gapless; ON CONFLICT remains as a safety net.
    known = set(
        await session.scalars(
            select(JobEvent.event_id).where(JobEvent.event_id.in_([e.event_id for e in events]))
        )
    )
    events = [e for e in events if e.event_id not in known]
    if not events:
        return 0
    rows = [
        {
            "event_id": e.event_id,
            "job_id": job_id,
            "seq": job.last_seq + i + 1,
            "type": e.type,
            "payload": e.model_dump(mode="json"),
        }
        for i, e in enumerate(events)
    ]
    new_ids = set(
        await session.scalars(
            pg_insert(JobEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(JobEvent.event_id)
        )
    )
    if not new_ids:
        return 0
    view = current
    job_changes: dict = {}
    for event in events:
        if event.event_id not in new_ids:
            continue
        change = project(view, event)
        job_changes.update(change.job)
        new_status = change.job.get("status")
        if view.status not in TERMINAL and new_status in ("succeeded", "needs_review", "failed"):
            finished.append((new_status, job.created_at, event.created_at))
        view = replace(
            view,
            status=job_changes.get("status", view.status),
            attempt=job_changes.get("attempt", view.attempt),
        )
        await _apply_attempt(session, job_id, change)
        await _apply_artifacts(session, job_id, change.artifacts)
        await _apply_profiles(session, job_id, change.profiles)
        if change.run is not None:
            await _apply_run(session, job_id, change)
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(last_seq=job.last_seq + len(rows), **job_changes)
        .execution_options(synchronize_session=False)
    )
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": JOB_CHANNEL, "p": job_id})
    return len(new_ids)


async def _apply_attempt(session: AsyncSession, job_id: str, change: Projection) -> None:
    if change.attempt is None:
        return
    values = dict(change.attempt)
    number = values.pop("number")
    values = {k: v for k, v in values.items() if v is not None}
    insert = pg_insert(Attempt).values(job_id=job_id, number=number, **values)
    update_values = {k: insert.excluded[k] for k in values}
    if "status" in values:
        # A late "planned"/"coded" must not overwrite an attempt that already passed or failed.
        update_values["status"] = text(
            "CASE WHEN attempts.status IN ('passed','failed') AND excluded.status IN ('planned','coded') "
            "THEN attempts.status ELSE excluded.status END"
        )
    if "metrics" in values:  # merge, so the metrics of "coded" and "passed" accumulate
        update_values["metrics"] = text("COALESCE(attempts.metrics, '{}'::jsonb) || excluded.metrics")
    update_values["updated_at"] = text("now()")
    await session.execute(
        insert.on_conflict_do_update(constraint="uq_attempts_job_number", set_=update_values)
    )


async def _apply_artifacts(session: AsyncSession, job_id: str, artifacts: list[dict]) -> None:
    """Upsert by (job, S3 key): a file written again (a redelivered stage) updates its row, never doubles it.

    artifacts has no unique index on the key; the job's row lock, held by the caller, makes check-then-insert
    exact.
    """
    for artifact in artifacts:
        fields = {"kind": artifact["kind"], "size": artifact["size"], "sha256": artifact["sha256"]}
        result = await session.execute(
            update(Artifact)
            .where(Artifact.job_id == job_id, Artifact.s3_key == artifact["s3_key"])
            .values(**fields)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            session.add(Artifact(job_id=job_id, s3_key=artifact["s3_key"], **fields))
            await session.flush()  # visible to the next event's update in this batch


async def _apply_profiles(session: AsyncSession, job_id: str, profiles: list[dict]) -> None:
    """Upsert by (S3 key, role): a profile written again (a redelivered stage) updates its row."""
    for profile in profiles:
        insert = pg_insert(DataProfile).values(job_id=job_id, **profile)
        await session.execute(insert.on_conflict_do_update(
            constraint="uq_data_profiles_key_role",
            set_={k: insert.excluded[k] for k in profile if k not in ("s3_key", "role")},
        ))


async def _apply_run(session: AsyncSession, job_id: str, change: Projection) -> None:
    values = dict(change.run or {})
    run_id = values.pop("id")
    result = await session.execute(
        update(InferenceRun)
        .where(InferenceRun.id == run_id, InferenceRun.job_id == job_id, InferenceRun.status == "pending")
        .values(**values)
    )
    if result.rowcount:
        await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": INFERENCE_CHANNEL, "p": run_id})


class Projector:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.engine = make_engine(settings.database_url, pool_size=2, max_overflow=2)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.consumer: AIOKafkaConsumer | None = None
        self._members: ResumingListener | None = None
        self.producer: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self.applied = 0

    def request_stop(self) -> None:
        self._stopping.set()

    async def start(self) -> None:
        CONSUMER.check(apply_events)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=GROUP,
            client_id="recast-projector",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **group_timing(self.settings.consumer_session_timeout_ms),  # back in its group soon after a restart
        )
        # after a kill -9, rejoins as the member the killed process left (recast_common.membership)
        self._members = member_listener(self.settings, GROUP, lambda: self.consumer)
        self.consumer.subscribe(list(CONSUMER.topics),
                                **({"listener": self._members} if self._members is not None else {}))
        self.producer = AIOKafkaProducer(  # dead letters only; acks=all like every producer
            bootstrap_servers=self.settings.kafka_bootstrap, enable_idempotence=False, acks="all"
        )
        await self.consumer.start()
        await self.producer.start()

    async def close_clients(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        if self._members is not None:
            self._members.close()  # its slot keeps the member id for the next start
            self._members = None
        if self.producer is not None:
            await self.producer.stop()
        self.consumer = self.producer = None

    async def stop(self) -> None:
        await self.close_clients()
        await self.engine.dispose()

    async def handle(self, topic: str, value: bytes) -> None:
        """Apply one message, retrying transient failures; poison messages go to `<topic>.dlq`."""
        try:
            event = parse_event(value)
        except Exception as exc:  # noqa: BLE001 - undecodable: nothing to retry
            await self._dead_letter(topic, value, f"undecodable event: {exc}")
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                if await apply_event(self.sessions, event):
                    self.applied += 1
                return
            except Exception as exc:  # noqa: BLE001
                # The database being away is no reason to give up on an event: wait for it, however long.
                if not is_transient(exc) and attempt >= HANDLE_RETRIES:
                    await self._dead_letter(topic, value, f"{type(exc).__name__}: {exc}")
                    return
                log.warning("projecting %s failed (try %d): %s", event.event_id, attempt, exc)
                await asyncio.sleep(min(5.0, 0.5 * attempt))

    async def _dead_letter(self, topic: str, value: bytes, error: str) -> None:
        log.error("dead-lettering a message from %s: %s", topic, error)
        assert self.producer is not None
        # Same body as the pipeline consumers' dead letters (recast_common.consumer).
        body = {
            "topic": topic,
            "consumer": GROUP,
            "error": error[-4000:],
            "raw": value.decode("utf-8", "replace"),
        }
        await self.producer.send_and_wait(
            Topics.dlq(topic),
            value=json.dumps(body).encode(),
            headers=[("content-type", b"application/json"), ("error", error.encode()[:1000])],
        )

    async def handle_batch(self, messages: list[tuple[str, bytes]] | list[tuple[str, bytes, Any]]) -> None:
        """One transaction for a whole poll (every partition); when that fails, message by message.

        Messages may carry their Kafka headers third: each then gets a span in the trace those headers continue
        (ended when the batch is applied), and the batch's database work a span linked to all of them."""
        with ExitStack() as spans:
            links = []
            for message in messages:
                if len(message) > 2:
                    topic, value, headers = message[0], message[1], message[2]
                    job_id, event_id = _ids_of(value)
                    current = spans.enter_context(consume_span(
                        topic, headers, GROUP, {"recast.job_id": job_id, "recast.event_id": event_id}))
                    links.append(trace.Link(current.get_span_context()))
            with span("projector batch", links=links, attributes={"recast.batch_size": len(messages)}):
                await self._handle_batch([(m[0], m[1]) for m in messages])

    async def _handle_batch(self, messages: list[tuple[str, bytes]]) -> None:
        try:
            events = [parse_event(value) for _, value in messages]
        except Exception:  # noqa: BLE001 - an undecodable message among them: the slow path sorts it out
            events = None
        if events:
            try:
                self.applied += await apply_events(self.sessions, events)
                return
            except Exception as exc:  # noqa: BLE001
                log.info("batch of %d failed (%s); one by one", len(events), exc)
        for topic, value in messages:
            await self.handle(topic, value)

    async def run(self) -> None:
        assert self.consumer is not None
        while not self._stopping.is_set():
            batches = await self.consumer.getmany(timeout_ms=500, max_records=500)
            polled = [(tp.topic, m.value, m.headers) for tp, messages in batches.items() for m in messages]
            if not polled:
                continue
            await self.handle_batch(polled)
            await self.consumer.commit(
                {tp: messages[-1].offset + 1 for tp, messages in batches.items() if messages}
            )


async def serve(settings: Settings) -> None:
    projector = Projector(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, projector.request_stop)
    serve_metrics_from_env()  # only when RECAST_METRICS_PORT is set
    if not await start_with_retry(projector.start, projector.close_clients, projector._stopping, "projector"):
        await projector.engine.dispose()
        return
    log.info("projector started (group %s)", GROUP)
    mark_ready()
    try:
        await projector.run()
    finally:
        await projector.stop()
        log.info("projector stopped after applying %d events", projector.applied)


def _ids_of(value: bytes) -> tuple[str | None, str | None]:
    try:
        body = json.loads(value)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    return body.get("job_id"), body.get("event_id")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="recast-projector", description="Project pipeline events into Postgres"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    setup_logging("projector", args.log_level)
    setup_tracing("projector")
    try:
        asyncio.run(serve(settings=Settings()))
    finally:
        shutdown_tracing()


if __name__ == "__main__":
    main()
