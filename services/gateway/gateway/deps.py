"""FastAPI dependencies: settings, DB sessions, storage, the caller (X-API-KEY) and id checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from recast_common.db.models import ApiKey, Job
from recast_common.settings import Settings
from recast_common.storage import Storage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from gateway.core.ids import is_valid_id
from gateway.core.keys import hash_key, key_prefix, same_secret
from gateway.key_cache import KeyCache

T = TypeVar("T")

api_key_header = APIKeyHeader(name="X-API-KEY", auto_error=False)


# Dependencies are coroutines even when they do not await: FastAPI runs a plain function in a worker thread,
# a hop that costs more than the function.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_sessionmaker(request: Request) -> async_sessionmaker:
    return request.app.state.sessionmaker


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_storage(request: Request) -> Storage:
    return request.app.state.storage


async def single_statements(session: AsyncSession) -> AsyncConnection:
    """The session's connection, running its next statements each on its own (autocommit), not in a transaction:
    for a request that reads with one statement, which is consistent alone, BEGIN and COMMIT would be two more
    database round trips. Call it before the session's first statement, or after a commit."""
    return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@asynccontextmanager
async def driver_connection(request: Request) -> AsyncIterator[Any]:
    """A pooled connection as asyncpg's own connection, for a hot read of one statement (jobs.DriverQuery): no
    session, no SQLAlchemy execution or result layer (together they cost about as much CPU as the rest of such a
    request). The pool, its pre-ping and the connection's return stay SQLAlchemy's; nothing runs through
    SQLAlchemy on it, so no transaction is begun: each statement runs on its own (autocommit). JSON columns come
    decoded (the codecs SQLAlchemy's dialect installs on every connection)."""
    async with request.app.state.engine.connect() as connection:
        yield (await connection.get_raw_connection()).driver_connection


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
StorageDep = Annotated[Storage, Depends(get_storage)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: one client, or the admin (client_id None unless the admin key belongs to a client)."""

    client_id: str | None
    is_admin: bool = False
    key_id: int | None = None  # the api_keys row of the calling key (None for the environment's admin key)

    def may_access(self, client_id: str) -> bool:
        return self.is_admin or self.client_id == client_id


async def get_principal(
    request: Request, settings: SettingsDep, key: Annotated[str | None, Security(api_key_header)] = None,
) -> Principal:
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-API-KEY header")
    if settings.admin_api_key and same_secret(key, settings.admin_api_key):
        return Principal(client_id=None, is_admin=True)
    digest = hash_key(key)
    keys: KeyCache[Principal] = request.app.state.keys
    cached = keys.get(digest)
    if cached is not None:
        return cached
    generation = keys.generation
    # A session of its own, closed at once (a cached key needs none): the request may spend a long time on S3 or
    # waiting for a result, and must not hold a pooled connection meanwhile.
    async with request.app.state.sessionmaker() as session:
        await single_statements(session)
        rows = list(
            await session.scalars(
                select(ApiKey).where(ApiKey.prefix == key_prefix(key), ApiKey.revoked.is_(False))
            )
        )
    for row in rows:
        if same_secret(row.key_hash, digest):
            principal = Principal(client_id=row.client_id, is_admin=row.is_admin, key_id=row.id)
            keys.put(digest, principal, generation)
            return principal
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key")


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_valid_id(value: str | None, what: str) -> str:
    if not is_valid_id(value):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"invalid {what}: use 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'",
        )
    return value  # type: ignore[return-value]


def authorize_client(principal: Principal, client_id: str, what: str = "user_id") -> str:
    require_valid_id(client_id, what)
    if not principal.may_access(client_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key may not access that client's jobs")
    return client_id


def resolve_client(principal: Principal, requested: str | None) -> str:
    """The client a request acts for: the key's own client unless another one is named (admin only)."""
    if requested is None:
        if principal.client_id is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, "user_id is required with the admin key"
            )
        return principal.client_id
    return authorize_client(principal, requested)


async def find_job(session: AsyncSession, client_id: str, job_id: str) -> Job | None:
    """The client's job by the id the client sees (job ids are scoped per client)."""
    return await session.scalar(select(Job).where(Job.client_id == client_id, Job.public_id == job_id))


def job_not_found(job_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} not found")


async def load_job(session: AsyncSession, principal: Principal, client_id: str, job_id: str) -> Job:
    """The job, after checking ids and access; 404 when it does not exist for that client, and also when the key
    may not reach that client (never 403 on a job route: it would tell another client's job ids apart)."""
    require_valid_id(client_id, "user_id")
    require_valid_id(job_id, "job_id")
    job = await find_job(session, client_id, job_id) if principal.may_access(client_id) else None
    if job is None:
        raise job_not_found(job_id)
    return job


async def load_job_of(session: AsyncSession, principal: Principal, job_id: str, user_id: str | None) -> Job:
    """The job named by its id and, optionally, its client (inference requests): the caller's own client unless
    user_id names another (admin only); the environment's admin key, which has no client, finds the one job
    with that id (422 when several clients have one)."""
    if user_id is not None or principal.client_id is not None:
        return await load_job(session, principal, user_id or principal.client_id or "", job_id)
    require_valid_id(job_id, "job_id")
    jobs = list(await session.scalars(select(Job).where(Job.public_id == job_id).limit(2)))
    if not jobs:
        raise job_not_found(job_id)
    if len(jobs) > 1:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            f"several clients have a job {job_id}: name the client with user_id")
    return jobs[0]


async def load_owned(session: AsyncSession, principal: Principal, model: type[T], row_id: str, what: str) -> T:
    """A row (with a client_id) by id alone; 404 when it does not exist or belongs to another client (a 403
    would tell another client that the id exists)."""
    require_valid_id(row_id, f"{what}_id")
    row = await session.get(model, row_id)
    if row is None or not principal.may_access(row.client_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} {row_id} not found")
    return row
