"""GET /queue/status: the original contract's status, queue_info and capacity_utilization, derived from the worker
consumer groups (members, lag) and the jobs table; the raw figures stay beside them as extra fields."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from recast_common.api import CapacityUtilization, QueueInfo, QueueStatus
from recast_common.db.models import TERMINAL_JOB_STATUSES, Job
from sqlalchemy import func, select

from gateway.deps import PrincipalDep, SessionDep, SettingsDep

router = APIRouter(tags=["queue"])

# The groups whose consumers do a job's work (the projector only records it).
WORKER_GROUPS = ("profiler", "planner", "coder", "tester", "tester-inference")
IN_PROGRESS = ("profiling", "planning", "coding", "testing")
RECENT_JOBS = 50
DEFAULT_JOB_MINUTES = 1.0


def capacity(
    groups: dict, in_progress: int, admission_open: bool, job_minutes: float
) -> tuple[QueueInfo, CapacityUtilization]:
    """Workers are the members of the worker groups; what waits for them is those groups' lag. A job passes
    through every stage, so one message costs about a stage's share of a whole job's time."""
    workers = sum((groups.get(g) or {}).get("members") or 0 for g in WORKER_GROUPS)
    queue_size = sum((groups.get(g) or {}).get("lag") or 0 for g in WORKER_GROUPS)
    busy = min(in_progress, workers)
    stage_minutes = job_minutes / len(IN_PROGRESS)
    info = QueueInfo(max_workers=workers, active_jobs=busy, available_workers=workers - busy, queue_size=queue_size)
    utilization = CapacityUtilization(
        workers_busy_percent=round(100.0 * busy / workers, 1) if workers else 0.0,
        can_accept_new_jobs=admission_open,
        estimated_wait_time_minutes=round(queue_size * stage_minutes / max(1, workers), 2),
    )
    return info, utilization


async def _recent_job_minutes(session) -> float:
    """Mean creation-to-finish time of the latest finished jobs (a default before any has finished)."""
    recent = (
        select((Job.updated_at - Job.created_at).label("took"))
        .where(Job.status.in_(("succeeded", "failed")))
        .order_by(Job.updated_at.desc())
        .limit(RECENT_JOBS)
        .subquery()
    )
    mean = await session.scalar(select(func.avg(recent.c.took)))
    if not isinstance(mean, timedelta) or mean.total_seconds() <= 0:
        return DEFAULT_JOB_MINUTES
    return mean.total_seconds() / 60


@router.get("/queue/status", response_model=QueueStatus)
async def queue_status(session: SessionDep, settings: SettingsDep, _principal: PrincipalDep) -> QueueStatus:
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    by_status = {s: n for s, n in rows}
    active = sum(n for s, n in by_status.items() if s not in TERMINAL_JOB_STATUSES)
    job_minutes = await _recent_job_minutes(session)
    groups: dict = {}
    broker_error = None
    try:
        from recast_common import kafka

        groups = await asyncio.wait_for(kafka.queue_status(settings, list(kafka.GROUP_TOPICS)), timeout=15)
    except Exception as exc:  # the DB part of the answer is still useful
        broker_error = f"{type(exc).__name__}: {exc}"
    admission_open = active < settings.max_active_jobs
    in_progress = sum(by_status.get(s, 0) for s in IN_PROGRESS)
    info, utilization = capacity(groups, in_progress, admission_open, job_minutes)
    return QueueStatus(
        status="degraded" if broker_error else "healthy",
        queue_info=info,
        capacity_utilization=utilization,
        active_jobs=active,
        jobs_by_status=by_status,
        max_active_jobs=settings.max_active_jobs,
        can_accept_new_jobs=admission_open,
        consumer_groups=groups,
        broker_error=broker_error,
    )
