"""Job metadata, listing and deletion. Registered last: GET /{client_id}/{job_id} matches any two segments."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from recast_common.api import ArtifactOut, AttemptOut, JobDetail, JobOut, shown_column_instructions
from recast_common.db.models import JOB_STATUSES, Artifact, Attempt, Job
from sqlalchemy import and_, delete, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by

from gateway.core.cursor import BadCursor, decode_cursor, encode_cursor
from gateway.core.ids import client_prefix, job_prefix
from gateway.deps import (
    PrincipalDep,
    SessionDep,
    StorageDep,
    authorize_client,
    job_not_found,
    load_job,
    require_valid_id,
)

router = APIRouter(tags=["jobs"])

_ATTEMPT_FOLDER = re.compile(r"/attempt-(\d+)/")


def attempt_of_key(key: str) -> int | None:
    """The attempt of a file under {client}/{job}/attempt-N/ (scripts, verdicts); None for job-wide files."""
    match = _ATTEMPT_FOLDER.search(key)
    return int(match.group(1)) if match else None


def job_out(job: Job) -> dict:
    return dict(
        job_id=job.public_id,
        user_id=job.client_id,
        status=job.status,
        stage=job.stage,
        percent=job.percent,
        message=job.message,
        header=job.header,
        attempt=job.attempt,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        job_title=job.job_title,
        description=job.description,
        owner=job.owner,
        general_instructions=job.general_instructions,
        column_instructions=shown_column_instructions(job.column_instructions),
        instructions=job.instructions,
        file_formats=job.file_formats,
    )


def next_link(request: Request, cursor: str) -> str:
    """An RFC 8288 Link header to the next page: the same query with the next cursor."""
    url = request.url.include_query_params(cursor=cursor)
    return f'<{url.path}?{url.query}>; rel="next"'


@router.get(
    "/users/{client_id}/jobs",
    response_model=list[JobOut],
    responses={200: {"description": "A page of jobs, newest first; the next page's URL is in the Link header "
                                    "(rel=\"next\") and its cursor in X-Next-Cursor"}},
)
async def list_jobs(
    client_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: str | None = None,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
) -> JSONResponse:
    authorize_client(principal, client_id)
    query = select(Job).where(Job.client_id == client_id)
    if status_filter is not None:
        if status_filter not in JOB_STATUSES:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"unknown status {status_filter!r}; one of {', '.join(JOB_STATUSES)}",
            )
        query = query.where(Job.status == status_filter)
    if cursor:
        try:
            created, last_id = decode_cursor(cursor)
        except BadCursor:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "invalid cursor") from None
        query = query.where(or_(Job.created_at < created, and_(Job.created_at == created, Job.id < last_id)))
    rows = list(await session.scalars(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)))
    page = [JobOut(**job_out(j)).model_dump(mode="json") for j in rows[:limit]]
    headers = {}
    if len(rows) > limit:
        next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id)
        headers = {"Link": next_link(request, next_cursor), "X-Next-Cursor": next_cursor}
    return JSONResponse(page, headers=headers)


@router.delete("/delete/job/{user_id}/{job_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_job(
    user_id: str, job_id: str, session: SessionDep, principal: PrincipalDep, storage: StorageDep
) -> Response:
    job = await load_job(session, principal, user_id, job_id)
    await session.execute(delete(Job).where(Job.id == job.id))
    await session.commit()
    await storage.delete_prefix(job_prefix(job.client_id, job.id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/delete/user/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(
    user_id: str, session: SessionDep, principal: PrincipalDep, storage: StorageDep
) -> Response:
    """Delete every job of the user (rows and files). The client and its API keys stay."""
    authorize_client(principal, user_id)
    await session.execute(delete(Job).where(Job.client_id == user_id))
    await session.commit()
    await storage.delete_prefix(client_prefix(user_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _rows_as_json(columns: dict, order_by, where):
    """A correlated subquery: the rows matching `where` as a JSON array of {name: column} (empty array if none)."""
    pairs = [part for name, column in columns.items() for part in (literal(name), column)]
    aggregated = func.jsonb_agg(aggregate_order_by(func.jsonb_build_object(*pairs), *order_by), type_=JSONB)
    return select(func.coalesce(aggregated, literal([], JSONB), type_=JSONB)).where(where).scalar_subquery()


# One statement reads the job with its attempts and artifacts (a status read is polled often).
_ATTEMPTS = _rows_as_json(
    {"number": Attempt.number, "status": Attempt.status, "program_fingerprint": Attempt.program_fingerprint,
     "verdict": Attempt.verdict, "metrics": Attempt.metrics},
    (Attempt.number,), Attempt.job_id == Job.id,
)
_ARTIFACTS = _rows_as_json(
    {"kind": Artifact.kind, "key": Artifact.s3_key, "size": Artifact.size, "sha256": Artifact.sha256},
    (Artifact.created_at, Artifact.id), Artifact.job_id == Job.id,
)


@router.get(
    "/{client_id}/{job_id}",
    response_model=JobDetail | dict,
    responses={200: {"description": "The job's metadata; {} when the client has no such job (as the original)"}},
)
async def get_job(
    client_id: str, job_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> JobDetail | dict:
    require_valid_id(client_id, "user_id")
    require_valid_id(job_id, "job_id")
    row = None
    if principal.may_access(client_id):
        row = (await session.execute(
            select(Job, _ATTEMPTS, _ARTIFACTS).where(Job.client_id == client_id, Job.public_id == job_id)
        )).first()
        await session.commit()  # read: no pooled connection stays in a transaction while the script is read
        if row is None:
            return {}
    if row is None:
        raise job_not_found(job_id)  # never 403 on a job route: it would tell another client's job ids apart
    job, attempts, artifacts = row
    detail = JobDetail(
        **job_out(job),
        attempts=[AttemptOut(**a) for a in attempts],
        script_key=job.script_key,
        artifacts=[ArtifactOut(**a, attempt=attempt_of_key(a["key"])) for a in artifacts],
    )
    if job.status in ("succeeded", "needs_review") and job.script_key:
        digest = next((a["sha256"] for a in artifacts if a["key"] == job.script_key), None)
        storage = request.app.state.storage
        try:
            detail.script = await request.app.state.scripts.get(job.script_key, digest, storage.get_bytes)
        except Exception:
            detail.script = None
    return detail
