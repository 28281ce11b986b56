"""POST /inference/run (JSON or multipart) and GET /inference/{run_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import JSONResponse
from recast_common.api import InferenceRequest, InferenceResult
from recast_common.db.models import InferenceRun

from gateway.core.csvcheck import CsvProblem, decode_csv
from gateway.deps import PrincipalDep, SessionDep, SettingsDep, StorageDep, load_own_job, load_owned
from gateway.inference import describe_run, request_run, status_url, wait_for_run
from gateway.limits import PerFileLimitRoute, check_text_size, read_upload

# Multipart uploads are held to the per-file limit while they stream (read_upload checks again).
router = APIRouter(tags=["inference"], route_class=PerFileLimitRoute)


async def _run(
    request: Request, session, principal, settings, storage, job_id: str, user_id: str | None, data: bytes
) -> JSONResponse:
    job = await load_own_job(session, principal, job_id)
    if user_id is not None and user_id != job.client_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} not found for user {user_id}")
    try:
        decode_csv(data, "input_file")
    except CsvProblem as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    await session.close()
    sessions = request.app.state.sessionmaker
    run_id = await request_run(sessions, storage, job, data)
    run = await wait_for_run(
        sessions, request.app.state.notifications, run_id, settings.inference_wait_seconds
    )
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} vanished (job deleted?)")
    if run.status == "pending":
        body = InferenceResult(run_id=run_id, job_id=job.id, status="pending", status_url=status_url(run_id))
        return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    result = await describe_run(sessions, storage, run)
    if run.status == "failed":
        payload = {"detail": f"inference failed: {run.error}", **result.model_dump(mode="json")}
        return JSONResponse(payload, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY)
    return JSONResponse(result.model_dump(mode="json"))


@router.post(
    "/inference/run",
    response_model=InferenceResult,
    responses={202: {"model": InferenceResult}, 422: {"description": "bad input or the run failed"}},
)
async def run_inference(
    body: InferenceRequest,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> JSONResponse:
    data = check_text_size(body.input_file, settings.max_upload_bytes, "input_file")
    return await _run(request, session, principal, settings, storage, body.job_id, body.user_id, data)


@router.post(
    "/inference/run/upload", response_model=InferenceResult, responses={202: {"model": InferenceResult}}
)
async def run_inference_upload(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    storage: StorageDep,
    job_id: Annotated[str, Form()],
    input_file: Annotated[UploadFile, File(description="CSV to convert")],
    user_id: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    data = await read_upload(input_file, settings.max_upload_bytes, "input_file")
    return await _run(request, session, principal, settings, storage, job_id, user_id or None, data)


@router.get("/inference/{run_id}", response_model=InferenceResult)
async def get_inference(
    run_id: str, request: Request, session: SessionDep, principal: PrincipalDep, storage: StorageDep
) -> InferenceResult:
    run = await load_owned(session, principal, InferenceRun, run_id, "run")
    return await describe_run(request.app.state.sessionmaker, storage, run)
