"""GET /health: database, broker, storage and the sandbox's isolation mode. No API key needed."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from recast_common.api import Health
from sqlalchemy import text

router = APIRouter(tags=["health"])


async def _database_ok(request: Request) -> bool:
    try:
        async with request.app.state.sessionmaker() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), 5)
        return True
    except Exception:
        return False


async def _broker_ok(request: Request) -> bool:
    try:
        from recast_common import kafka

        return await kafka.ping(request.app.state.settings, timeout=3.0)
    except Exception:
        return False


async def _storage_ok(request: Request) -> bool:
    try:
        return await asyncio.wait_for(request.app.state.storage.ping(), 5)
    except Exception:
        return False


_sandbox: dict[str, str | None] = {}


async def _sandbox_mode() -> str | None:
    """The tester sandbox's network isolation here (probed once, in a thread: it runs a subprocess)."""
    if "mode" not in _sandbox:
        try:
            from tester.sandbox import network_isolation

            _sandbox["mode"] = str(await asyncio.to_thread(network_isolation))
        except Exception:
            _sandbox["mode"] = None
    return _sandbox["mode"]


@router.get("/health", response_model=Health)
async def health(request: Request) -> JSONResponse:
    database, broker, storage, sandbox = await asyncio.gather(
        _database_ok(request), _broker_ok(request), _storage_ok(request), _sandbox_mode()
    )
    state = "ok" if database and broker and storage else ("degraded" if database else "down")
    body = Health(status=state, database=database, broker=broker, storage=storage, sandbox=sandbox)
    return JSONResponse(body.model_dump(), status_code=200 if database else 503)
