"""FastAPI dependencies: settings, DB sessions, storage, the caller (X-API-KEY) and id checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from recast_common.db.models import ApiKey, Job
from recast_common.settings import Settings
from recast_common.storage import Storage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.core.ids import is_valid_id
from gateway.core.keys import hash_key, key_prefix, same_secret

T = TypeVar("T")

api_key_header = APIKeyHeader(name="X-API-KEY", auto_error=False)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_sessionmaker(request: Request) -> async_sessionmaker:
    return request.app.state.sessionmaker


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def get_storage(request: Request) -> Storage:
    return request.app.state.storage


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
    session: SessionDep, settings: SettingsDep, key: Annotated[str | None, Security(api_key_header)] = None
) -> Principal:
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-API-KEY header")
    if settings.admin_api_key and same_secret(key, settings.admin_api_key):
        return Principal(client_id=None, is_admin=True)
    rows = list(
        await session.scalars(
            select(ApiKey).where(ApiKey.prefix == key_prefix(key), ApiKey.revoked.is_(False))
        )
    )
    # End the read-only transaction: the request may spend a long time on S3 or waiting for a result, and
    # must not hold a pooled connection "idle in transaction" meanwhile.
    await session.commit()
    digest = hash_key(key)
    for row in rows:
        if same_secret(row.key_hash, digest):
            return Principal(client_id=row.client_id, is_admin=row.is_admin, key_id=row.id)
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


async def load_job(session: AsyncSession, principal: Principal, client_id: str, job_id: str) -> Job:
    """The job, after checking ids and access; 404 when it does not exist for that client."""
    authorize_client(principal, client_id)
    require_valid_id(job_id, "job_id")
    job = await session.get(Job, job_id)
    if job is None or job.client_id != client_id:
        # another client's job is "not found" too: a 403 would tell that the id exists
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} not found")
    return job


async def load_owned(session: AsyncSession, principal: Principal, model: type[T], row_id: str, what: str) -> T:
    """A row (with a client_id) by id alone; 404 when it does not exist or belongs to another client (a 403
    would tell another client that the id exists)."""
    require_valid_id(row_id, f"{what}_id")
    row = await session.get(model, row_id)
    if row is None or not principal.may_access(row.client_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} {row_id} not found")
    return row


async def load_own_job(session: AsyncSession, principal: Principal, job_id: str) -> Job:
    return await load_owned(session, principal, Job, job_id, "job")
