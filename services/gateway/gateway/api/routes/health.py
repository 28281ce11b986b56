"""GET /health: database, broker, storage and the testers' sandbox isolation. No API key needed."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from recast_common.api import Health, SandboxReportView
from recast_common.db.models import SandboxReport
from sqlalchemy import select, text

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


TESTERS_SHOWN = 20


async def _testers(request: Request) -> list[SandboxReportView]:
    """What the tester replicas reported of their sandboxes, newest first (the gateway's own host says nothing
    of theirs: on a cluster they run in other pods, with other permissions)."""
    try:
        async with request.app.state.sessionmaker() as session:
            rows = await asyncio.wait_for(session.scalars(
                select(SandboxReport).order_by(SandboxReport.reported_at.desc()).limit(TESTERS_SHOWN)
            ), 5)
            return [SandboxReportView(replica=r.replica, roles=r.roles, isolation=r.isolation,
                                      reported_at=r.reported_at) for r in rows]
    except Exception:
        return []


@router.get("/health", response_model=Health)
async def health(request: Request) -> JSONResponse:
    """The original contract's {status: "healthy", app_name, version}, with what each part answered."""
    database, broker, storage, testers = await asyncio.gather(
        _database_ok(request), _broker_ok(request), _storage_ok(request), _testers(request)
    )
    state = "healthy" if database and broker and storage else ("degraded" if database else "unhealthy")
    body = Health(status=state, app_name=request.app.title, version=request.app.version, database=database,
                  broker=broker, storage=storage, sandbox=testers[0].isolation if testers else None, testers=testers)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if database else 503)
