"""GET /health: database, broker, storage and the testers' sandbox isolation. No API key needed.

It answers from the gateway's cached checks (gateway.checks), refreshed at most every couple of seconds: a
dashboard or load balancer polling it costs no broker connection or S3 request per call."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from recast_common.api import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(request: Request) -> JSONResponse:
    """The original contract's {status: "healthy", app_name, version}, with what each part answered."""
    checks = request.app.state.checks
    reachable, testers = await asyncio.gather(checks.reachability.get(), checks.testers.get())
    database, broker, storage = reachable["database"], reachable["broker"], reachable["storage"]
    state = "healthy" if database and broker and storage else ("degraded" if database else "unhealthy")
    body = Health(status=state, app_name=request.app.title, version=request.app.version, database=database,
                  broker=broker, storage=storage, sandbox=testers[0].isolation if testers else None, testers=testers)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if database else 503)
