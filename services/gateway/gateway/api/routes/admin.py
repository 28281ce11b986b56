"""POST /admin/clients (admin key): create a client and return its API key, shown once."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from recast_common.api import ClientCreate, ClientCreated
from recast_common.db.models import ApiKey, Client
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gateway.api.routes.keys import check_key_cap
from gateway.core.ids import new_id
from gateway.core.keys import generate_key, hash_key, key_prefix
from gateway.deps import PrincipalDep, SessionDep, SettingsDep, require_valid_id

router = APIRouter(prefix="/admin", tags=["admin"])

MAX_NAME_LENGTH = 200


def printable(text: str) -> bool:
    """No NUL (Postgres text cannot hold it) nor other control characters."""
    return all(ch.isprintable() or ch == " " for ch in text)


@router.post("/clients", status_code=status.HTTP_201_CREATED, response_model=ClientCreated)
async def create_client(body: ClientCreate, session: SessionDep, principal: PrincipalDep,
                        settings: SettingsDep) -> ClientCreated:
    """Creates the client if needed and issues a new key for it (existing keys stay valid)."""
    if not principal.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin API key required")
    client_id = require_valid_id(body.client_id, "client_id") if body.client_id else new_id()
    if not printable(body.name) or len(body.name) > MAX_NAME_LENGTH:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            f"name: at most {MAX_NAME_LENGTH} printable characters (no NUL or control characters)")
    key = generate_key()
    await session.execute(
        pg_insert(Client)
        .values(id=client_id, name=body.name or client_id)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    await check_key_cap(session, settings, client_id)
    row = ApiKey(client_id=client_id, prefix=key_prefix(key), key_hash=hash_key(key), is_admin=body.admin)
    session.add(row)
    await session.commit()
    return ClientCreated(client_id=client_id, api_key=key, admin=body.admin, key_id=row.id)
