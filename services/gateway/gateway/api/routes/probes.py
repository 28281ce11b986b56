"""Kubernetes probes, no API key: GET /livez (liveness: the process answers; never looks at a backing service,
so a database outage does not restart every gateway) and GET /readyz (readiness: 503 while Postgres, the broker
or S3 cannot be reached, so the pod leaves the Service until they are back). GET /health stays the detailed view.

Readiness answers from the gateway's cached checks (gateway.checks): probes of many pods and load balancers must
not each open a broker connection."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["probes"])


@router.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    checks = await request.app.state.checks.reachability.get()
    ready = all(checks.values())
    headers = {} if ready else {"Retry-After": "5"}
    return JSONResponse({"status": "ready" if ready else "unavailable", **checks},
                        status_code=200 if ready else 503, headers=headers)
