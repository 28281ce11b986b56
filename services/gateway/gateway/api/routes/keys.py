"""A client's own API keys: list them, add one, revoke one (key rotation without the admin).

GET /keys, POST /keys and DELETE /keys/{key_id}. A client reaches its own keys only (403 otherwise); the admin
reaches every client's, naming it with `client_id`. A revoked key answers 401 from the next request on.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Response, status
from recast_common.api import ClientCreated, KeyCreate, KeyInfo, KeyList
from recast_common.db.models import ApiKey, Client
from sqlalchemy import select, update

from gateway.core.keys import generate_key, hash_key, key_prefix
from gateway.deps import Principal, PrincipalDep, SessionDep, require_valid_id

router = APIRouter(prefix="/keys", tags=["keys"])


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
async def add_key(session: SessionDep, principal: PrincipalDep, body: KeyCreate | None = None) -> ClientCreated:
    """A new key for the client (shown once), e.g. before revoking the old one. It is never an admin key."""
    owner = _client_of(principal, body.client_id if body else None)
    if await session.get(Client, owner) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"client {owner} not found")
    key = generate_key()
    row = ApiKey(client_id=owner, prefix=key_prefix(key), key_hash=hash_key(key), is_admin=False)
    session.add(row)
    await session.commit()
    return ClientCreated(client_id=owner, api_key=key, admin=False, key_id=row.id)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: int, session: SessionDep, principal: PrincipalDep) -> Response:
    """Revokes the key for good (it stays listed, marked revoked). Revoking the calling key itself is allowed."""
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"key {key_id} not found")
    if not principal.may_access(row.client_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key may not manage that client's keys")
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked=True))
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
