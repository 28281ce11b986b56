"""One sweeper pass: re-drive or fail stuck jobs, remove S3 orphans, report rows whose objects are missing, prune
the outbox and the inbox. Every step honours dry_run (report only) and is safe to run from several replicas:
writes are keyed by deterministic event ids and row locks, so two passes at once do the same thing once.

- Stuck: a job in a pipeline status (queued .. testing) whose row did not change for stuck_after_seconds. Its last
  stage-driving event (the last one of its submission in job_events, else in the outbox) is published again
  through the outbox under its own id, marked as the n-th re-drive (events.REDRIVE_MARK), up to max_redrives
  times per submission; after that the job is failed with the reason. Both touch updated_at, so the next pass
  waits a whole threshold again. The same id is what makes a re-drive safe when the job was not stuck but
  waiting (behind a consumer's lag, or in the outbox while the relay was away): of the two copies, the stage's
  consumer runs its handler for whichever comes first, so no handler runs twice. What the second copy does
  depends on which it is. The original arriving second is a duplicate: its inbox skips it. The marked copy
  arriving second is not skipped: a consumer that handled the event already sends the outputs it stored for it
  again, marked too (recast_common.consumer), so each later stage receives a marked copy of an event it handled
  and sends its own stored outputs on in turn, and the last stage's reach the projector, which skips the events
  it has. So a re-drive of a job that was only waiting costs one republish per stage (no handling); the same
  chain is what moves a job that stopped further on (an output lost on the way): the stage that missed it
  handles it. A lag check could not give that: the event may wait in the outbox, or behind a lag that never
  drains while the broker is busy.
- Orphans: objects under `<client>/<job>/` older than orphan_grace_seconds whose job row is gone, whose train
  folder is not the job's current submission, or whose inference run row is gone (an upload whose commit never
  came, e.g. a gateway killed mid-request). Keys not shaped like that are never touched.
- Missing: jobs (a batch per pass, in turn) whose input, expected output or script key names no object.
- Pruning: outbox rows sent, and inbox rows published, more than retention_seconds ago; but never a re-drive's
  row (marked) while its job is in a pipeline status: those rows are the re-drive count, and pruning them would
  let a job that never moves be re-driven forever.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from recast_common.db import outbox
from recast_common.db.models import InferenceRun, Job, JobEvent, OutboxRow
from recast_common.events import REDRIVE_MARK, Event, JobFailed, Topics, parse_event
from recast_common.storage import Storage
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sweeper.metrics import ACTIONS, LAST_PASS, MISSING, PASS_SECONDS
from sweeper.settings import SweeperSettings

log = logging.getLogger("sweeper")

PIPELINE_STATUSES = ("queued", "profiling", "planning", "coding", "testing")
NOT_DRIVING = (Topics.JOB_PROGRESS,)  # events that move no stage


@dataclass
class PassReport:
    dry_run: bool
    redriven: list[str] = field(default_factory=list)  # job ids
    failed: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # S3 keys removed (dry run: that would be)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (job id, key)
    outbox_pruned: int = 0
    inbox_pruned: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "redriven": len(self.redriven), "failed": len(self.failed),
                "orphans": len(self.orphans), "missing": len(self.missing), "outbox_pruned": self.outbox_pruned,
                "inbox_pruned": self.inbox_pruned, "seconds": round(self.seconds, 3)}


def failure_id(job_id: str, submission: str | None) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"recast:sweeper:{job_id}:{submission}:failed").hex


class Sweeper:
    def __init__(self, config: SweeperSettings, sessions: async_sessionmaker, storage: Storage):
        self.config = config
        self.sessions = sessions
        self.storage = storage
        self._missing_after = ""  # job id the next missing-object batch starts after

    async def run_pass(self) -> PassReport:
        started = time.monotonic()
        report = PassReport(dry_run=self.config.dry_run)
        await self.sweep_stuck(report)
        await self.sweep_orphans(report)
        await self.check_missing(report)
        await self.prune(report)
        report.seconds = time.monotonic() - started
        self._record(report)
        log.info("sweeper pass: %s", report.summary())
        return report

    def _record(self, report: PassReport) -> None:
        dry = "true" if report.dry_run else "false"
        for action, count in (("redrive", len(report.redriven)), ("fail", len(report.failed)),
                              ("orphan_removed", len(report.orphans)), ("outbox_pruned", report.outbox_pruned),
                              ("inbox_pruned", report.inbox_pruned)):
            ACTIONS.labels(action, dry).inc(count)
        MISSING.set(len(report.missing))
        PASS_SECONDS.set(report.seconds)
        LAST_PASS.set(time.time())

    # --- stuck jobs ------------------------------------------------------------------------------------------

    async def sweep_stuck(self, report: PassReport) -> None:
        threshold = timedelta(seconds=self.config.stuck_after_seconds)
        async with self.sessions() as session:
            stuck = list(await session.scalars(
                select(Job.id).where(Job.status.in_(PIPELINE_STATUSES), Job.updated_at < func.now() - threshold)
                .order_by(Job.updated_at).limit(500)
            ))
        for job_id in stuck:
            async with self.sessions() as session, session.begin():
                await self._unstick(session, job_id, threshold, report)
                if self.config.dry_run:
                    await session.rollback()

    async def _unstick(self, session: AsyncSession, job_id: str, threshold: timedelta, report: PassReport) -> None:
        job = await session.scalar(
            select(Job).where(Job.id == job_id, Job.status.in_(PIPELINE_STATUSES),
                              Job.updated_at < func.now() - threshold).with_for_update(skip_locked=True)
        )
        if job is None:  # moved on meanwhile, or another sweeper holds it
            return
        stuck_for = (datetime.now(timezone.utc) - job.updated_at).total_seconds()
        done = await self._redrives_done(session, job)
        last = await self._last_driving_event(session, job)
        if last is not None and done < self.config.max_redrives:
            await outbox.enqueue(session, last, marks={REDRIVE_MARK: done + 1})
            await self._touch(session, job.id)
            report.redriven.append(job.id)
            log.warning("job %s stuck in %s for %.0fs: %s re-driven (re-drive %d of %d)", job.id, job.stage,
                        stuck_for, last.type, done + 1, self.config.max_redrives)
            return
        why = "no event to re-drive it from" if last is None else f"{done} re-drive(s) did not move it"
        failure = JobFailed(
            event_id=failure_id(job.id, job.submission), job_id=job.id, client_id=job.client_id,
            attempt=job.attempt, submission=job.submission, stage=job.stage,
            reason=f"stuck in {job.stage} for {stuck_for:.0f}s ({why}): failed by the sweeper",
        )
        await outbox.enqueue(session, failure)
        await self._touch(session, job.id)
        report.failed.append(job.id)
        log.error("job %s: %s", job.id, failure.reason)

    async def _touch(self, session: AsyncSession, job_id: str) -> None:
        await session.execute(update(Job).where(Job.id == job_id).values(updated_at=func.now())
                              .execution_options(synchronize_session=False))

    async def _redrives_done(self, session: AsyncSession, job: Job) -> int:
        """Re-drives of the job's current submission so far: its marked outbox rows (prune keeps them while the job
        is in a pipeline status, whatever retention_seconds is)."""
        marked = OutboxRow.payload[REDRIVE_MARK].astext.is_not(None)
        same_submission = (OutboxRow.payload["submission"].astext == job.submission if job.submission is not None
                           else OutboxRow.payload["submission"].astext.is_(None))
        count = await session.scalar(select(func.count()).select_from(OutboxRow)
                                     .where(OutboxRow.key == job.id, marked, same_submission))
        return int(count or 0)

    async def _last_driving_event(self, session: AsyncSession, job: Job) -> Event | None:
        """The newest event of the job's current submission that drives a stage: projected, else in the outbox."""
        candidates = []
        rows = await session.scalars(
            select(JobEvent.payload).where(JobEvent.job_id == job.id, JobEvent.type.notin_(NOT_DRIVING))
            .order_by(JobEvent.seq.desc()).limit(20))
        candidates.extend(rows)
        if not candidates:
            rows = await session.scalars(
                select(OutboxRow.payload).where(OutboxRow.key == job.id, OutboxRow.topic.notin_(NOT_DRIVING),
                                                OutboxRow.topic.like("job.%"))
                .order_by(OutboxRow.id.desc()).limit(20))
            candidates.extend(rows)
        for payload in candidates:
            if job.submission is not None and payload.get("submission") not in (None, job.submission):
                continue
            try:
                return parse_event(payload)
            except Exception as exc:  # noqa: BLE001 - an event of an older schema: try the one before
                log.warning("job %s: event %s unreadable: %s", job.id, payload.get("event_id"), exc)
        return None

    # --- S3 orphans ------------------------------------------------------------------------------------------

    async def sweep_orphans(self, report: PassReport) -> None:
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.config.orphan_grace_seconds)
        old: list[str] = []
        paginator = self.storage.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.storage.bucket):
            old.extend(o["Key"] for o in page.get("Contents", []) if o["LastModified"] < cutoff)
        if not old:
            return
        by_job: dict[str, list[str]] = {}
        for key in old:
            parts = key.split("/")
            if len(parts) >= 3 and parts[0] and parts[1]:
                by_job.setdefault(parts[1], []).append(key)
        orphans: list[str] = []
        async with self.sessions() as session:
            for start in range(0, len(by_job), 500):
                chunk = list(by_job)[start:start + 500]
                jobs = {j.id: j for j in await session.scalars(select(Job).where(Job.id.in_(chunk)))}
                run_ids = {k.split("/")[3] for j in chunk for k in by_job[j] if k.split("/")[2:3] == ["runs"]
                           and len(k.split("/")) > 4}
                runs = set(await session.scalars(select(InferenceRun.id).where(InferenceRun.id.in_(run_ids))))
                for job_id in chunk:
                    orphans.extend(k for k in by_job[job_id] if _is_orphan(k, jobs.get(job_id), runs))
        report.orphans.extend(orphans)
        if orphans and not self.config.dry_run:
            # a last look at the rows: a replacement or a run committed since the listing keeps its files
            async with self.sessions() as session:
                keep = await _now_referenced(session, orphans)
            doomed = [k for k in orphans if k not in keep]
            await self.storage.delete_keys(doomed)
            report.orphans[:] = doomed
            log.warning("removed %d S3 objects without a row: %s", len(doomed), doomed[:10])

    # --- rows whose objects are missing ----------------------------------------------------------------------

    async def check_missing(self, report: PassReport) -> None:
        if self.config.missing_check_batch <= 0:
            return
        async with self.sessions() as session:
            jobs = list(await session.scalars(
                select(Job).where(Job.id > self._missing_after, Job.status != "deleted")
                .order_by(Job.id).limit(self.config.missing_check_batch)))
        self._missing_after = jobs[-1].id if len(jobs) == self.config.missing_check_batch else ""
        for job in jobs:
            keys = [job.input_key, job.expected_key] + ([job.script_key] if job.status == "succeeded" else [])
            for key in filter(None, keys):
                if await self.storage.head(key) is None:
                    report.missing.append((job.id, key))
                    log.error("job %s (%s) names %s, which is not in S3", job.id, job.status, key)

    # --- retention -------------------------------------------------------------------------------------------

    async def prune(self, report: PassReport) -> None:
        keep = timedelta(seconds=self.config.retention_seconds)
        still_counted = OutboxRow.payload.has_key(REDRIVE_MARK) & OutboxRow.key.in_(
            select(Job.id).where(Job.status.in_(PIPELINE_STATUSES)))
        sent = OutboxRow.sent_at.is_not(None) & (OutboxRow.sent_at < func.now() - keep) & ~still_counted
        published = "published_at IS NOT NULL AND published_at < now() - :keep"
        async with self.sessions() as session, session.begin():
            if self.config.dry_run:
                report.outbox_pruned = await session.scalar(select(func.count()).select_from(OutboxRow).where(sent))
                report.inbox_pruned = await session.scalar(
                    text(f"SELECT count(*) FROM inbox WHERE {published}").bindparams(keep=keep))
                return
            report.outbox_pruned = (await session.execute(delete(OutboxRow).where(sent))).rowcount or 0
            report.inbox_pruned = (await session.execute(
                text(f"DELETE FROM inbox WHERE {published}").bindparams(keep=keep))).rowcount or 0


def _is_orphan(key: str, job: Job | None, runs: set[str]) -> bool:
    """`<client>/<job>/...` with no such job (of that client), a train folder of another submission, or a run
    folder without its row."""
    parts = key.split("/")
    if job is None or job.client_id != parts[0]:
        return True
    if parts[2].startswith("train-") and job.submission and not parts[2].startswith(f"train-{job.submission[:12]}"):
        return job.input_key.split("/")[2:3] != parts[2:3]
    if parts[2] == "runs" and len(parts) > 4:
        return parts[3] not in runs
    return False


async def _now_referenced(session: AsyncSession, keys: list[str]) -> set[str]:
    job_ids = {k.split("/")[1] for k in keys}
    jobs = {j.id: j for j in await session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    run_ids = {k.split("/")[3] for k in keys if k.split("/")[2:3] == ["runs"] and len(k.split("/")) > 4}
    runs = set(await session.scalars(select(InferenceRun.id).where(InferenceRun.id.in_(run_ids))))
    return {k for k in keys if not _is_orphan(k, jobs.get(k.split("/")[1]), runs)}


