"""A client's own API keys: list them, add one, revoke one (key rotation without the admin).

A client has at most RECAST_MAX_API_KEYS_PER_CLIENT active keys (429 beyond), the admin's creations included.

GET /keys, POST /keys and DELETE /keys/{key_id}. A client reaches its own keys only (403 otherwise); the admin
reaches every client's, naming it with `client_id`. A revoked key answers 401 from the next request on: every
gateway process forgets the keys it verified when told of the revocation (gateway.key_cache), and at worst
after RECAST_API_KEY_CACHE_SECONDS.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi import Path as FastAPIPath
from recast_common.api import ClientCreated, KeyCreate, KeyInfo, KeyList
from recast_common.db.models import ApiKey, Client
from recast_common.settings import Settings
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.core.keys import generate_key, hash_key, key_prefix
from gateway.deps import Principal, PrincipalDep, SessionDep, SettingsDep, require_valid_id
from gateway.key_cache import KEYS_CHANNEL

router = APIRouter(prefix="/keys", tags=["keys"])

MAX_KEY_ID = 2**63 - 1  # api_keys.id is a bigint: a larger id names no key (422, not a database error)


async def check_key_cap(session: AsyncSession, settings: Settings, client_id: str) -> None:
    """429 when the client already has settings.max_api_keys_per_client keys that are not revoked. The client
    row is locked first, so two concurrent requests cannot both take the last place."""
    await session.execute(select(Client.id).where(Client.id == client_id).with_for_update())
    active = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.client_id == client_id, ApiKey.revoked.is_(False))
    )
    if (active or 0) >= settings.max_api_keys_per_client:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"client {client_id} already has {active} active API keys (the limit is "
            f"{settings.max_api_keys_per_client}): revoke one first",
        )


def _client_of(principal: Principal, client_id: str | None) -> str:
    """The client whose keys are meant: the caller's own unless named; naming another needs the admin."""
    if client_id is None:
        if principal.client_id is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "the admin key names a client_id")
        return principal.client_id
    require_valid_id(client_id, "client_id")
    if not principal.may_access(client_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key may not manage that client's keys")
    return client_id


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(key_id=row.id, client_id=row.client_id, prefix=row.prefix, admin=row.is_admin,
                   revoked=row.revoked, created_at=row.created_at)


@router.get("", response_model=KeyList)
async def list_keys(session: SessionDep, principal: PrincipalDep,
                    client_id: str | None = Query(default=None)) -> KeyList:
    owner = _client_of(principal, client_id)
    rows = await session.scalars(select(ApiKey).where(ApiKey.client_id == owner).order_by(ApiKey.id))
    return KeyList(keys=[_info(row) for row in rows])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientCreated)
async def add_key(session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                  body: KeyCreate | None = None) -> ClientCreated:
    """A new key for the client (shown once), e.g. before revoking the old one. It is never an admin key."""
    owner = _client_of(principal, body.client_id if body else None)
    if await session.get(Client, owner) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"client {owner} not found")
    await check_key_cap(session, settings, owner)
    key = generate_key()
    row = ApiKey(client_id=owner, prefix=key_prefix(key), key_hash=hash_key(key), is_admin=False)
    session.add(row)
    await session.commit()
    return ClientCreated(client_id=owner, api_key=key, admin=False, key_id=row.id)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(
    key_id: Annotated[int, FastAPIPath(ge=1, le=MAX_KEY_ID)], request: Request, session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """Revokes the key for good (it stays listed, marked revoked). Revoking the calling key itself is allowed."""
    row = await session.get(ApiKey, key_id)
    if row is None or not principal.may_access(row.client_id):  # another client's key: as if it did not exist
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"key {key_id} not found")
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked=True))
    # delivered at commit to every gateway process, which forgets the keys it has verified
    await session.execute(select(func.pg_notify(KEYS_CHANNEL, str(key_id))))
    await session.commit()
    request.app.state.keys.clear()  # this process at once, without waiting for its own notification
    return Response(status_code=status.HTTP_204_NO_CONTENT)
