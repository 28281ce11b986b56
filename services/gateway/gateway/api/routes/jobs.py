"""Job metadata, listing and deletion. Registered last: GET /{client_id}/{job_id} matches any two segments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import TypeAdapter
from recast_common.api import ArtifactOut, AttemptOut, JobDetail, JobOut, shown_column_instructions
from recast_common.db.models import JOB_STATUSES, Artifact, Attempt, Job
from sqlalchemy import Row, Select, and_, bindparam, delete, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from gateway.core.cursor import BadCursor, decode_cursor, encode_cursor
from gateway.core.ids import client_prefix, job_prefix
from gateway.deps import (
    PrincipalDep,
    SessionDep,
    StorageDep,
    authorize_client,
    driver_connection,
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


# Reads select the jobs table's columns, not Job entities: rows cost a fraction of ORM objects, and job_out reads
# either by attribute name. The answers are serialized here (pydantic, to bytes) and returned as a Response, so
# that FastAPI does not validate them a second time against the route's response model.
JOB_COLUMNS = tuple(Job.__table__.columns)
_JOB_PAGE = TypeAdapter(list[JobOut])


@dataclass(frozen=True)
class DriverQuery:
    """A SQLAlchemy statement compiled once to asyncpg's SQL, run on the driver's connection (deps.driver_connection):
    the two reads clients poll. Its parameters are named by the statement's bindparams."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, statement: Select) -> DriverQuery:
        compiled = statement.compile(dialect=asyncpg_dialect())
        names = tuple(compiled.positiontup or ())
        if set(compiled.params) - set(names) or any(compiled.params[n] is not None for n in names):
            raise ValueError(f"only unvalued bindparams can be driver parameters: {compiled.params}")
        return cls(str(compiled), names)

    async def fetch(self, connection: Any, params: dict[str, Any]) -> list[SimpleNamespace]:
        """The rows, each read by attribute name like a SQLAlchemy row."""
        records = await connection.fetch(self.sql, *(params[name] for name in self.names))
        return [SimpleNamespace(**record) for record in records]


def json_response(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, media_type="application/json", headers=headers)


def job_out(job: Job | Row) -> dict:
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


@cache
def _page_query(by_status: bool, after_cursor: bool) -> DriverQuery:
    """A page of a client's jobs, newest first, compiled once per shape: parameters client_id and limit, and status
    or created and last_id when filtered or after a cursor."""
    query = select(*JOB_COLUMNS).where(Job.client_id == bindparam("client_id"))
    if by_status:
        query = query.where(Job.status == bindparam("status"))
    if after_cursor:
        created, last_id = bindparam("created"), bindparam("last_id")
        query = query.where(or_(Job.created_at < created, and_(Job.created_at == created, Job.id < last_id)))
    return DriverQuery.of(query.order_by(Job.created_at.desc(), Job.id.desc()).limit(bindparam("limit")))


@router.get(
    "/users/{client_id}/jobs",
    response_model=list[JobOut],
    responses={200: {"description": "A page of jobs, newest first; the next page's URL is in the Link header "
                                    "(rel=\"next\") and its cursor in X-Next-Cursor"}},
)
async def list_jobs(
    client_id: str,
    request: Request,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: str | None = None,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
) -> Response:
    authorize_client(principal, client_id)
    params: dict = {"client_id": client_id, "limit": limit + 1}
    if status_filter is not None:
        if status_filter not in JOB_STATUSES:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"unknown status {status_filter!r}; one of {', '.join(JOB_STATUSES)}",
            )
        params["status"] = status_filter
    if cursor:
        try:
            params["created"], params["last_id"] = decode_cursor(cursor)
        except BadCursor:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "invalid cursor") from None
    async with driver_connection(request) as connection:
        rows = await _page_query(status_filter is not None, bool(cursor)).fetch(connection, params)
    page = _JOB_PAGE.dump_json([JobOut(**job_out(j)) for j in rows[:limit]])
    headers = {}
    if len(rows) > limit:
        next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id)
        headers = {"Link": next_link(request, next_cursor), "X-Next-Cursor": next_cursor}
    return json_response(page, headers)


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
    pairs = [part for name, column in columns.items() for part in (literal_column(f"'{name}'"), column)]
    aggregated = func.jsonb_agg(aggregate_order_by(func.jsonb_build_object(*pairs), *order_by), type_=JSONB)
    empty = literal_column("'[]'::jsonb", JSONB)
    return select(func.coalesce(aggregated, empty, type_=JSONB)).where(where).scalar_subquery()


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
_SCRIPT = {"script"}
_JOB_READ = DriverQuery.of(select(*JOB_COLUMNS, _ATTEMPTS.label("attempts"), _ARTIFACTS.label("artifacts")).where(
    Job.client_id == bindparam("client_id"), Job.public_id == bindparam("job_id")))


@router.get(
    "/{client_id}/{job_id}",
    response_model=JobDetail | dict,
    responses={200: {"description": "The job's metadata; {} when the client has no such job (as the original)"}},
)
async def get_job(client_id: str, job_id: str, request: Request, principal: PrincipalDep) -> Response:
    require_valid_id(client_id, "user_id")
    require_valid_id(job_id, "job_id")
    row = None
    if principal.may_access(client_id):
        async with driver_connection(request) as connection:  # given back before the script is read
            rows = await _JOB_READ.fetch(connection, {"client_id": client_id, "job_id": job_id})
        if not rows:
            return json_response(b"{}")
        row = rows[0]
    if row is None:
        raise job_not_found(job_id)  # never 403 on a job route: it would tell another client's job ids apart
    job, attempts, artifacts = row, row.attempts, row.artifacts
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
            script = await request.app.state.scripts.get_json(job.script_key, digest, storage.get_bytes)
        except Exception:
            script = None
        if script is not None:  # the script's JSON string as the cache holds it, as the object's last member
            body = detail.__pydantic_serializer__.to_json(detail, exclude=_SCRIPT)
            return json_response(b"".join((body[:-1], b',"script":', script, b"}")))
    return json_response(detail.__pydantic_serializer__.to_json(detail))
