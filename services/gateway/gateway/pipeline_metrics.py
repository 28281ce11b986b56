"""Gauges of the pipeline's state, sampled by every gateway replica in the background.

- `recast_active_jobs{stage}`: jobs not finished, by their status (queued, profiling, planning, coding, ...);
- `recast_oldest_active_job_age_seconds`: age of the oldest unfinished job (0 when none): a stuck job shows here;
- `recast_outbox_backlog` and `recast_outbox_oldest_unsent_age_seconds`: outbox rows the relay has not published;
- `recast_dlq_messages{topic}`: messages held by each dead-letter topic (sampled less often: it asks Kafka).

Every replica reports the same figures: alerts and panels take `max` over pods. A sample that fails (database or
broker away) leaves the gauges as they were and counts in `recast_metrics_sample_failures_total`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

from recast_common.db.models import TERMINAL_JOB_STATUSES, Job, OutboxRow
from recast_common.events import Topics
from recast_common.kafka import topic_message_counts
from recast_common.settings import Settings
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.metrics import (
    ACTIVE_JOBS,
    DLQ_MESSAGES,
    OLDEST_ACTIVE_JOB_AGE,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    SAMPLE_FAILURES,
)

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 15.0
DLQ_SAMPLE_SECONDS = 60.0


def age_seconds(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    return max(0.0, (now - oldest).total_seconds())


async def sample_database(sessions: async_sessionmaker) -> None:
    async with sessions() as session:
        rows = (await session.execute(
            select(Job.status, func.count(), func.min(Job.created_at))
            .where(Job.status.not_in(TERMINAL_JOB_STATUSES)).group_by(Job.status)
        )).all()
        backlog, oldest_unsent = (await session.execute(
            select(func.count(), func.min(OutboxRow.created_at)).where(OutboxRow.sent_at.is_(None))
        )).one()
    now = datetime.now(timezone.utc)
    seen = {status for status, _, _ in rows}
    for labels in list(ACTIVE_JOBS._metrics):  # stages that emptied since the last sample go to 0
        if labels[0] not in seen:
            ACTIVE_JOBS.labels(*labels).set(0)
    for status, count, _ in rows:
        ACTIVE_JOBS.labels(status).set(count)
    OLDEST_ACTIVE_JOB_AGE.set(max((age_seconds(oldest, now) for _, _, oldest in rows), default=0.0))
    OUTBOX_BACKLOG.set(backlog)
    OUTBOX_OLDEST_AGE.set(age_seconds(oldest_unsent, now))


async def sample_dlq(settings: Settings) -> None:
    counts = await topic_message_counts(settings, [Topics.dlq(t) for t in Topics.ALL])
    for topic, count in counts.items():
        DLQ_MESSAGES.labels(topic).set(count)


async def run_sampler(settings: Settings, sessions: async_sessionmaker, stop: asyncio.Event) -> None:
    """Sample until `stop` is set: the database every SAMPLE_SECONDS, Kafka every DLQ_SAMPLE_SECONDS."""
    next_dlq = 0.0
    while not stop.is_set():
        try:
            await sample_database(sessions)
        except Exception as exc:  # noqa: BLE001 - metrics must never take the gateway down
            SAMPLE_FAILURES.labels("database").inc()
            log.debug("sampling the database failed: %s", exc)
        if time.monotonic() >= next_dlq:
            next_dlq = time.monotonic() + DLQ_SAMPLE_SECONDS
            try:
                await sample_dlq(settings)
            except Exception as exc:  # noqa: BLE001
                SAMPLE_FAILURES.labels("kafka").inc()
                log.debug("sampling the dead-letter topics failed: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)
        except TimeoutError:
            pass
