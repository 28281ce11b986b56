"""Review: a job whose script reproduces the example but is not trusted on new data ends in needs_review, with
the script, the reason and a suggestion. The user may accept that script as it is; the job then succeeds and
its script can run inference. (Or the user adds rows or instructions and submits again.)"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status
from recast_common.api import JobOut
from recast_common.db.models import Job, JobEvent
from sqlalchemy import select

from gateway.api.routes.jobs import job_out
from gateway.deps import PrincipalDep, SessionDep, load_job

router = APIRouter(tags=["jobs"])


@router.post(
    "/jobs/{client_id}/{job_id}/accept",
    response_model=JobOut,
    responses={409: {"description": "The job is not in needs_review"}},
)
async def accept_script(client_id: str, job_id: str, session: SessionDep, principal: PrincipalDep) -> JobOut:
    """Accept the script of a job in needs_review as it is: the job becomes succeeded (recorded in its events)."""
    found = await load_job(session, principal, client_id, job_id)  # ids, access, 404
    # the projector holds this row lock while it applies events, so the sequence of job_events stays gapless
    job = await session.scalar(
        select(Job).where(Job.id == found.id).with_for_update().execution_options(populate_existing=True)
    )
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} not found")
    if job.status != "needs_review":
        current = job.status
        await session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"job {job_id} is {current}: only a job in needs_review can be accepted"
        )
    review = job.message
    job.last_seq += 1
    session.add(JobEvent(
        event_id=uuid.uuid4().hex, job_id=job.id, seq=job.last_seq, type="job.accepted",
        payload={"type": "job.accepted", "job_id": job.id, "client_id": job.client_id, "review": review},
    ))
    job.status = "succeeded"
    job.message = f"script accepted by the user after review ({review[:300]})"
    await session.commit()
    await session.refresh(job)
    return JobOut(**job_out(job))
