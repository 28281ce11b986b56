"""Data profiles: GET /inference/{run_id}/profile[.html] and GET /{client_id}/{job_id}/profile[.html].

Registered before jobs (whose GET /{client_id}/{job_id} takes any two segments); the inference routes come
first here, since /{client_id}/{job_id}/profile would also match /inference/{run_id}/profile.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse
from recast_common.db.models import InferenceRun
from recast_common.stage_files import profile_key, run_profile_key
from recast_engine.profiling.report import render_report

from gateway.deps import PrincipalDep, SessionDep, StorageDep, load_job, load_owned

router = APIRouter(tags=["profiles"])

NOT_READY = {404: {"description": "no such job or run, or its profile is not written yet"}}


async def _stored(storage, key: str, what: str) -> dict[str, Any]:
    try:
        return json.loads(await storage.get_bytes(key))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the profile of {what} is not written yet") from None


async def _run_profile(session, principal, storage, run_id: str) -> dict[str, Any]:
    run = await load_owned(session, principal, InferenceRun, run_id, "run")
    await session.close()
    return await _stored(storage, run_profile_key(run.input_key), f"run {run_id}")


async def _job_profile(session, principal, storage, client_id: str, job_id: str) -> dict[str, Any]:
    job = await load_job(session, principal, client_id, job_id)
    await session.close()
    return await _stored(storage, profile_key(job.input_key), f"job {job_id}")


@router.get("/inference/{run_id}/profile", responses=NOT_READY)
async def run_profile(run_id: str, session: SessionDep, principal: PrincipalDep, storage: StorageDep) -> dict:
    """The run input's profile (`profile`) and how it drifts from the train input (`drift_warnings`)."""
    return await _run_profile(session, principal, storage, run_id)


@router.get("/inference/{run_id}/profile.html", response_class=HTMLResponse, responses=NOT_READY)
async def run_profile_report(run_id: str, session: SessionDep, principal: PrincipalDep,
                             storage: StorageDep) -> HTMLResponse:
    document = await _run_profile(session, principal, storage, run_id)
    page = render_report(f"Inference run {run_id}", [("Inference input", document["profile"])],
                         document.get("drift_warnings", []))
    return HTMLResponse(page)


@router.get("/{client_id}/{job_id}/profile", responses=NOT_READY)
async def job_profile(client_id: str, job_id: str, session: SessionDep, principal: PrincipalDep,
                      storage: StorageDep) -> dict:
    """The train pair's profile: `input` and `expected` (each file in full), `relation` and `summary`."""
    return await _job_profile(session, principal, storage, client_id, job_id)


@router.get("/{client_id}/{job_id}/profile.html", response_class=HTMLResponse, responses=NOT_READY)
async def job_profile_report(client_id: str, job_id: str, session: SessionDep, principal: PrincipalDep,
                             storage: StorageDep) -> HTMLResponse:
    document = await _job_profile(session, principal, storage, client_id, job_id)
    page = render_report(f"Job {job_id}: data profile of the train pair",
                         [("Train input", document["input"]), ("Expected output", document["expected"])])
    return HTMLResponse(page)
