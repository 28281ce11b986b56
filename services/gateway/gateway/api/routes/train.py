"""POST /train (JSON) and POST /train/upload (multipart): 202 with the new job's id."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from recast_common.api import TrainAccepted, TrainRequest

from gateway.core.csvcheck import CsvProblem, decode_csv
from gateway.deps import PrincipalDep, SettingsDep, StorageDep, require_valid_id, resolve_client
from gateway.limits import PerFileLimitRoute, check_text_size, read_upload
from gateway.training import submit_training

# Multipart uploads are held to the per-file limit while they stream (read_upload checks again).
router = APIRouter(tags=["train"], route_class=PerFileLimitRoute)


def _checked(data: bytes, field: str) -> bytes:
    try:
        decode_csv(data, field)
    except CsvProblem as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    return data


async def _train(
    request: Request,
    principal,
    settings,
    storage,
    input_csv: bytes,
    expected_csv: bytes,
    header: str,
    job_id: str | None,
    user_id: str | None,
) -> TrainAccepted:
    client_id = resolve_client(principal, user_id)
    if job_id is not None:
        require_valid_id(job_id, "job_id")
    input_csv = _checked(input_csv, "input_file")
    expected_csv = _checked(expected_csv, "expected_output_file")
    job = await submit_training(
        sessions=request.app.state.sessionmaker,
        storage=storage,
        settings=settings,
        principal=principal,
        client_id=client_id,
        input_csv=input_csv,
        expected_csv=expected_csv,
        header=header,
        job_id=job_id,
    )
    return TrainAccepted(
        job_id=job.id, status=job.status, user_id=client_id, status_url=f"/api/v1/{client_id}/{job.id}"
    )


@router.post("/train", status_code=status.HTTP_202_ACCEPTED, response_model=TrainAccepted)
async def train(
    body: TrainRequest, request: Request, principal: PrincipalDep, settings: SettingsDep, storage: StorageDep
) -> TrainAccepted:
    limit = settings.max_upload_bytes
    input_csv = check_text_size(body.input_file, limit, "input_file")
    expected_csv = check_text_size(body.expected_output_file, limit, "expected_output_file")
    return await _train(
        request, principal, settings, storage, input_csv, expected_csv, body.header, body.job_id, body.user_id
    )


@router.post("/train/upload", status_code=status.HTTP_202_ACCEPTED, response_model=TrainAccepted)
async def train_upload(
    request: Request,
    principal: PrincipalDep,
    settings: SettingsDep,
    storage: StorageDep,
    input_file: Annotated[UploadFile, File(description="Train input CSV")],
    expected_output_file: Annotated[UploadFile, File(description="Expected output CSV")],
    header: Annotated[Literal["auto", "yes", "no"], Form()] = "auto",
    job_id: Annotated[str | None, Form()] = None,
    user_id: Annotated[str | None, Form()] = None,
) -> TrainAccepted:
    limit = settings.max_upload_bytes
    input_csv = await read_upload(input_file, limit, "input_file")
    expected_csv = await read_upload(expected_output_file, limit, "expected_output_file")
    return await _train(
        request,
        principal,
        settings,
        storage,
        input_csv,
        expected_csv,
        header,
        job_id or None,
        user_id or None,
    )
