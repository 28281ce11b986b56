"""POST /inference/run (JSON or multipart), PUT /inference/run/stream (raw CSV body, any size up to
RECAST_MAX_INFERENCE_BYTES), GET /inference/{run_id} and GET /inference/{run_id}/output (the output CSV)."""

from __future__ import annotations

from typing import Annotated

from botocore.exceptions import ClientError
from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, StreamingResponse
from recast_common.api import InferenceRequest, InferenceResult
from recast_common.db.models import InferenceRun

from gateway.core.content import csv_text
from gateway.core.csvcheck import CsvProblem, accept_csv, check_streamed_head
from gateway.deps import PrincipalDep, SessionDep, SettingsDep, StorageDep, load_job_of, load_owned
from gateway.inference import (
    HEAD_BYTES,
    describe_run,
    ensure_ready,
    request_run,
    split_head,
    wait_for_run,
)
from gateway.limits import PerFileLimitRoute, check_text_size, limit_stream, read_upload, too_large

# Multipart uploads are held to the per-file limit while they stream (read_upload checks again).
router = APIRouter(tags=["inference"], route_class=PerFileLimitRoute)

# Exempt from the app-wide body limit (gateway/app.py): this route holds its body to max_inference_bytes.
STREAM_ROUTE = "/inference/run/stream"


NeutralizeFormulas = Annotated[bool | None, Query(
    description="Prefix output cells starting with = + - @ with ' (spreadsheet formula injection); "
                "default RECAST_NEUTRALIZE_FORMULAS")]
Strict = Annotated[bool | None, Query(
    description="Fail the run (422 naming its `warnings`) when the script could not convert something: a lookup key "
                "not seen in training, a value not in the learned date or number format, a row of another width, "
                "another header; default RECAST_STRICT_INFERENCE")]


async def _run(
    request: Request, session, principal, settings, storage, job_id: str, user_id: str | None, data: bytes,
    neutralize: bool | None = None, strict: bool | None = None,
) -> JSONResponse:
    job = await load_job_of(session, principal, job_id, user_id)
    try:
        data, input_format = accept_csv(data, "input_file")
    except CsvProblem as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    await session.close()
    run_id = await request_run(request.app.state.sessionmaker, storage, job, data,
                               settings.neutralize_formulas if neutralize is None else neutralize, input_format,
                               strict=settings.strict_inference if strict is None else strict)
    return await _answer(request, settings, storage, job, run_id)


async def _answer(request: Request, settings, storage, job, run_id: str) -> JSONResponse:
    sessions = request.app.state.sessionmaker
    run = await wait_for_run(
        sessions, request.app.state.notifications, run_id, settings.inference_wait_seconds
    )
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} vanished (job deleted?)")
    if run.status == "pending":
        body = await describe_run(sessions, storage, run, settings.inline_output_bytes)
        return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    result = await describe_run(sessions, storage, run, settings.inline_output_bytes)
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
    neutralize_formulas: NeutralizeFormulas = None,
    strict: Strict = None,
) -> JSONResponse:
    data = check_text_size(csv_text(body.input_file), settings.max_upload_bytes, "input_file")
    return await _run(request, session, principal, settings, storage, body.job_id, body.user_id, data,
                      neutralize_formulas, body.strict if strict is None else strict)


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
    neutralize_formulas: NeutralizeFormulas = None,
    strict: Strict = None,
) -> JSONResponse:
    data = await read_upload(input_file, settings.max_upload_bytes, "input_file")
    return await _run(request, session, principal, settings, storage, job_id, user_id or None, data,
                      neutralize_formulas, strict)


@router.put(
    STREAM_ROUTE,
    response_model=InferenceResult,
    responses={
        202: {"model": InferenceResult},
        413: {"description": "the body is larger than RECAST_MAX_INFERENCE_BYTES"},
        422: {"description": "the body does not start as a UTF-8 comma-separated CSV (this route does not "
                             "transcode: use POST /inference/run/upload), or the run failed"},
    },
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def run_inference_stream(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    storage: StorageDep,
    job_id: Annotated[str, Query()],
    user_id: Annotated[str | None, Query()] = None,
    neutralize_formulas: NeutralizeFormulas = None,
    strict: Strict = None,
) -> JSONResponse:
    """Run the job's script on the request body, a CSV of any size streamed to storage in parts."""
    limit = settings.max_inference_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit, "input_file")
    job = await load_job_of(session, principal, job_id, user_id or None)
    ensure_ready(job)
    await session.close()
    head, whole = await split_head(limit_stream(request.stream(), limit, "input_file"), HEAD_BYTES)
    try:
        check_streamed_head(head, complete=whole is None)
    except CsvProblem as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    body = head if whole is None else whole
    neutralize = settings.neutralize_formulas if neutralize_formulas is None else neutralize_formulas
    run_id = await request_run(request.app.state.sessionmaker, storage, job, body, neutralize,
                               strict=settings.strict_inference if strict is None else strict)
    return await _answer(request, settings, storage, job, run_id)


@router.get("/inference/{run_id}", response_model=InferenceResult)
async def get_inference(
    run_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> InferenceResult:
    run = await load_owned(session, principal, InferenceRun, run_id, "run")
    return await describe_run(request.app.state.sessionmaker, storage, run, settings.inline_output_bytes)


@router.get(
    "/inference/{run_id}/output",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "the output CSV"},
        409: {"description": "the run is still pending"},
        422: {"description": "the run failed"},
    },
)
async def download_output(
    run_id: str, session: SessionDep, principal: PrincipalDep, storage: StorageDep
) -> StreamingResponse:
    """The output CSV of a finished run, streamed from storage."""
    run = await load_owned(session, principal, InferenceRun, run_id, "run")
    await session.close()
    if run.status == "pending":
        raise HTTPException(status.HTTP_409_CONFLICT, f"run {run_id} is still pending")
    if run.status == "failed":
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"inference failed: {run.error}")
    try:
        size, chunks = await storage.iter_object(run.output_key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the output of run {run_id} is no longer stored") from None
    headers = {"Content-Length": str(size), "Content-Disposition": f'attachment; filename="{run_id}.csv"'}
    return StreamingResponse(chunks, media_type="text/csv", headers=headers)
