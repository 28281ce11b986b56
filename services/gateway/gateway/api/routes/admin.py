"""POST /admin/clients (admin key): create a client and return its API key, shown once."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from recast_common.api import ClientCreate, ClientCreated
from recast_common.db.models import ApiKey, Client
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gateway.core.ids import new_id
from gateway.core.keys import generate_key, hash_key, key_prefix
from gateway.deps import PrincipalDep, SessionDep, require_valid_id

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/clients", status_code=status.HTTP_201_CREATED, response_model=ClientCreated)
async def create_client(body: ClientCreate, session: SessionDep, principal: PrincipalDep) -> ClientCreated:
    """Creates the client if needed and issues a new key for it (existing keys stay valid)."""
    if not principal.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin API key required")
    client_id = require_valid_id(body.client_id, "client_id") if body.client_id else new_id()
    key = generate_key()
    await session.execute(
        pg_insert(Client)
        .values(id=client_id, name=body.name or client_id)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    row = ApiKey(client_id=client_id, prefix=key_prefix(key), key_hash=hash_key(key), is_admin=body.admin)
    session.add(row)
    await session.commit()
    return ClientCreated(client_id=client_id, api_key=key, admin=body.admin, key_id=row.id)
