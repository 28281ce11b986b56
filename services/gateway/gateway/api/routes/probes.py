"""Kubernetes probes, no API key: GET /livez (liveness: the process answers; never looks at a backing service,
so a database outage does not restart every gateway) and GET /readyz (readiness: 503 while Postgres, the broker
or S3 cannot be reached, so the pod leaves the Service until they are back). GET /health stays the detailed view.

Readiness answers from a result at most READY_CACHE_SECONDS old: probes of many pods and load balancers must not
each open a broker connection."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["probes"])

READY_CACHE_SECONDS = 2.0
CHECK_TIMEOUT_SECONDS = 3.0


@router.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "alive"}


async def _database(request: Request) -> bool:
    async with request.app.state.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
    return True


async def _broker(request: Request) -> bool:
    from recast_common import kafka

    return bool(await kafka.ping(request.app.state.settings, timeout=CHECK_TIMEOUT_SECONDS))


async def _storage(request: Request) -> bool:
    return bool(await request.app.state.storage.ping())


async def _check(probe, request: Request) -> bool:
    try:
        return await asyncio.wait_for(probe(request), CHECK_TIMEOUT_SECONDS + 1)
    except Exception:  # noqa: BLE001 - any failure means "not reachable now"
        return False


async def readiness(request: Request) -> dict[str, bool]:
    """{database, broker, storage}: each reachable or not, cached briefly on the app."""
    cached = getattr(request.app.state, "readiness", None)
    if cached is not None and time.monotonic() - cached[0] < READY_CACHE_SECONDS:
        return cached[1]
    database, broker, storage = await asyncio.gather(
        _check(_database, request), _check(_broker, request), _check(_storage, request)
    )
    result = {"database": database, "broker": broker, "storage": storage}
    request.app.state.readiness = (time.monotonic(), result)
    return result


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    checks = await readiness(request)
    ready = all(checks.values())
    headers = {} if ready else {"Retry-After": "5"}
    return JSONResponse({"status": "ready" if ready else "unavailable", **checks},
                        status_code=200 if ready else 503, headers=headers)
