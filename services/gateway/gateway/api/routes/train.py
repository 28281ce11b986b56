"""POST /train (JSON) and POST /train/upload (multipart): 202 with the new job's id."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from pydantic import TypeAdapter, ValidationError
from recast_common.api import FileFormat, JobDescription, TrainAccepted, TrainRequest
from recast_engine.hints import Hints

from gateway.core.content import csv_text
from gateway.core.csvcheck import CsvProblem, accept_csv
from gateway.deps import PrincipalDep, SettingsDep, StorageDep, require_valid_id, resolve_client
from gateway.limits import PerFileLimitRoute, check_text_size, read_upload
from gateway.training import expected_from_instructions, read_job_instructions, submit_training

# Multipart uploads are held to the per-file limit while they stream (read_upload checks again).
router = APIRouter(tags=["train"], route_class=PerFileLimitRoute)


def _checked(data: bytes, field: str, formats: dict[str, FileFormat]) -> bytes:
    """The upload as UTF-8 comma-separated CSV; how it was saved goes into `formats`."""
    try:
        data, formats[field] = accept_csv(data, field)
    except CsvProblem as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    return data


async def _train(
    request: Request,
    principal,
    settings,
    storage,
    input_csv: bytes,
    expected_csv: bytes | None,
    header: str,
    job_id: str | None,
    user_id: str | None,
    description: JobDescription,
    hints: Hints | None = None,
) -> TrainAccepted:
    client_id = resolve_client(principal, user_id)
    if job_id is not None:
        require_valid_id(job_id, "job_id")
    formats: dict[str, FileFormat] = {}
    input_csv = _checked(input_csv, "input_file", formats)
    instructions, report = read_job_instructions(description)
    if expected_csv is None:
        expected_csv, report = await expected_from_instructions(input_csv, header, instructions, report)
    expected_csv = _checked(expected_csv, "expected_output_file", formats)
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
        description=description,
        report=report,
        file_formats=formats,
        hints=hints,
    )
    return TrainAccepted(
        job_id=job.public_id,
        status=job.status,
        user_id=client_id,
        client_id=client_id,
        status_url=f"/api/v1/{client_id}/{job.public_id}",
        input_file=job.input_key,
        expected_output_file=job.expected_key,
        description=description.description,
        created_at=job.created_at,
        message=_accepted_message(report),
        instructions=report,
        file_formats=formats,
    )


def _accepted_message(report) -> str:
    message = "Training job created successfully. Processing will begin shortly."
    if report is not None and report.built_from_instructions:
        message += " No expected output was given: the conversion is built from the instructions."
    if report is not None and report.not_understood:
        message += " Instructions not understood (they do not steer learning): " + "; ".join(report.not_understood)
    return message


@router.post("/train", status_code=status.HTTP_202_ACCEPTED, response_model=TrainAccepted)
async def train(
    body: TrainRequest, request: Request, principal: PrincipalDep, settings: SettingsDep, storage: StorageDep
) -> TrainAccepted:
    limit = settings.max_upload_bytes
    input_csv = check_text_size(csv_text(body.input_file), limit, "input_file")
    expected_csv = None
    if body.expected_output_file is not None:
        expected_csv = check_text_size(csv_text(body.expected_output_file), limit, "expected_output_file")
    description = JobDescription.model_validate(body.model_dump(include=set(JobDescription.model_fields)))
    return await _train(
        request, principal, settings, storage, input_csv, expected_csv, body.header, body.job_id, body.user_id,
        description, read_hints(body.hints.model_dump() if body.hints else None),
    )


_COLUMN_INSTRUCTIONS = TypeAdapter(dict[str, str | None])


def read_hints(sent: object) -> Hints | None:
    """The hints of a train request read by the engine (None without any); a 422 names what it cannot read."""
    if not sent:
        return None
    try:
        return Hints.model_validate(json.loads(sent) if isinstance(sent, str) else sent)
    except (ValueError, ValidationError) as exc:
        detail = "; ".join(str(e["msg"]) for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            'hints must be a JSON object like {"constants": ["100"], "aggregations": ["max"]}: ' + detail,
        ) from None


def _column_instructions_form(text: str | None) -> dict[str, str | None] | None:
    if not text:
        return None
    try:
        return _COLUMN_INSTRUCTIONS.validate_python(json.loads(text))
    except (ValueError, ValidationError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            'column_instructions must be a JSON object of column name to instruction, e.g. {"code": "uppercase"}',
        ) from None


@router.post("/train/upload", status_code=status.HTTP_202_ACCEPTED, response_model=TrainAccepted)
async def train_upload(
    request: Request,
    principal: PrincipalDep,
    settings: SettingsDep,
    storage: StorageDep,
    input_file: Annotated[UploadFile, File(description="Train input CSV")],
    expected_output_file: Annotated[
        UploadFile | None, File(description="Expected output CSV (without it: built from the instructions)")
    ] = None,
    header: Annotated[Literal["auto", "yes", "no"], Form()] = "auto",
    job_id: Annotated[str | None, Form()] = None,
    user_id: Annotated[str | None, Form()] = None,
    job_title: Annotated[str | None, Form()] = None,
    description: Annotated[str | None, Form()] = None,
    owner: Annotated[str | None, Form()] = None,
    general_instructions: Annotated[str | None, Form()] = None,
    column_instructions: Annotated[str | None, Form(description="A JSON object: column name to instruction")] = None,
    hints: Annotated[str | None, Form(description='A JSON object: {"constants": [...], "aggregations": [...]}')]
    = None,
) -> TrainAccepted:
    limit = settings.max_upload_bytes
    input_csv = await read_upload(input_file, limit, "input_file")
    expected_csv = None
    if expected_output_file is not None:
        expected_csv = await read_upload(expected_output_file, limit, "expected_output_file")
    job_description = JobDescription(
        job_title=job_title or None,
        description=description or None,
        owner=owner or None,
        general_instructions=general_instructions or None,
        column_instructions=_column_instructions_form(column_instructions),
    )
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
        job_description,
        read_hints(hints),
    )
