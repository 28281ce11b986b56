"""GET /queue/status: active jobs, consumer group lag and members, whether new jobs are accepted."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from recast_common.api import QueueStatus
from recast_common.db.models import TERMINAL_JOB_STATUSES, Job
from sqlalchemy import func, select

from gateway.deps import PrincipalDep, SessionDep, SettingsDep

router = APIRouter(tags=["queue"])


@router.get("/queue/status", response_model=QueueStatus)
async def queue_status(session: SessionDep, settings: SettingsDep, _principal: PrincipalDep) -> QueueStatus:
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    by_status = {s: n for s, n in rows}
    active = sum(n for s, n in by_status.items() if s not in TERMINAL_JOB_STATUSES)
    groups: dict = {}
    broker_error = None
    try:
        from recast_common import kafka

        groups = await asyncio.wait_for(kafka.queue_status(settings, list(kafka.GROUP_TOPICS)), timeout=15)
    except Exception as exc:  # the DB part of the answer is still useful
        broker_error = f"{type(exc).__name__}: {exc}"
    return QueueStatus(
        active_jobs=active,
        jobs_by_status=by_status,
        max_active_jobs=settings.max_active_jobs,
        can_accept_new_jobs=active < settings.max_active_jobs,
        consumer_groups=groups,
        broker_error=broker_error,
    )
