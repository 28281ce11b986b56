"""Submitting a training job: files to S3 first, then the job row and its outbox event in one transaction."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import logging
from datetime import datetime, timezone

from fastapi import HTTPException, status
from recast_common.api import FileFormat, InstructionReport, JobDescription
from recast_common.db import outbox
from recast_common.db.models import TERMINAL_JOB_STATUSES, Artifact, Client, Job
from recast_common.events import JobSubmitted
from recast_common.settings import Settings
from recast_common.stage_files import instructions_key
from recast_common.storage import Storage
from recast_engine.csvgrid import parse_grid
from recast_engine.hints import Hints
from recast_engine.instructions import Instructions, read_instructions
from recast_engine.instructions.compile import CompileError, check_program, compile_program
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.core.ids import job_prefix, new_id
from gateway.deps import Principal, find_job

log = logging.getLogger(__name__)


# Serializes admissions across gateway replicas: count and insert happen under it, so the limits hold exactly.
ADMISSION_LOCK = 0x7265636173740001


async def check_admission(session: AsyncSession, settings: Settings, client_id: str) -> None:
    """429 when the queue, or this client's share of it, is full (the replaced job, finished, does not count)."""
    active, of_client = (
        await session.execute(
            select(func.count(), func.count().filter(Job.client_id == client_id)).where(
                Job.status.not_in(TERMINAL_JOB_STATUSES)
            )
        )
    ).one()
    if active >= settings.max_active_jobs:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many active jobs; retry later")
    if of_client >= settings.max_active_jobs_per_client:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"client {client_id} has {settings.max_active_jobs_per_client} active jobs, its limit; retry later",
        )


def read_job_instructions(description: JobDescription) -> tuple[Instructions | None, InstructionReport | None]:
    """The job's instructions as read by the engine, and the report shown in the job (None without any)."""
    if description.general_instructions is None and description.column_instructions is None:
        return None, None
    instructions = read_instructions(description.general_instructions, description.column_instructions)
    report = InstructionReport(understood=instructions.understood(), not_understood=instructions.not_understood)
    return instructions, report


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail)


def _build_from_instructions(input_csv: bytes, instructions: Instructions) -> bytes:
    grid = parse_grid(input_csv, strict=False)
    program = compile_program(instructions, grid)
    rows = check_program(program, grid)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


async def expected_from_instructions(
    input_csv: bytes, header: str, instructions: Instructions | None, report: InstructionReport | None
) -> tuple[bytes, InstructionReport]:
    """An instruction-only job: the expected output is what the instructions' program makes of the input, so the
    pipeline learns, renders and tests exactly that program. Every instruction must be understood."""
    if instructions is None or report is None or not (instructions.columns or instructions.table):
        raise _unprocessable(
            "expected_output_file is required unless general_instructions or column_instructions describe the output"
        )
    if instructions.not_understood:
        raise _unprocessable(
            "without an expected output every instruction must be understood; not understood: "
            + "; ".join(instructions.not_understood)
        )
    if header == "no":
        raise _unprocessable("instructions name columns: the input needs a header row (header 'auto' or 'yes')")
    try:
        expected = await asyncio.to_thread(_build_from_instructions, input_csv, instructions)
    except CompileError as exc:
        raise _unprocessable(f"the instructions do not fit the input: {exc}") from None
    return expected, report.model_copy(update={"built_from_instructions": True})


async def submit_training(
    *,
    sessions: async_sessionmaker,
    storage: Storage,
    settings: Settings,
    principal: Principal,
    client_id: str,
    input_csv: bytes,
    expected_csv: bytes,
    header: str,
    job_id: str | None,
    description: JobDescription | None = None,
    report: InstructionReport | None = None,
    file_formats: dict[str, FileFormat] | None = None,
    hints: Hints | None = None,
) -> Job:
    description = description or JobDescription()
    async with sessions() as session:
        await check_admission(session, settings, client_id)  # early, before any upload; again at the commit
        # job ids are scoped per client: another client's job of the same id is no concern of this one
        existing = await find_job(session, client_id, job_id) if job_id is not None else None
        if existing is not None and existing.status not in TERMINAL_JOB_STATUSES:
            # Its stages are still running and would write into the replacement's folder and events.
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"job {job_id} is still {existing.status}; replace it once it has finished (or delete it)",
            )
    # A replacement keeps the internal id (its S3 folder and event key); a new job gets a fresh one.
    internal_id = existing.id if existing is not None else new_id()
    public_id = job_id or internal_id
    replacing = existing is not None
    submission = new_id()  # this submission's identity, stamped on every event of its pipeline
    folder = f"{job_prefix(client_id, internal_id)}train-{submission[:12]}/"
    input_key, expected_key = folder + "input.csv", folder + "expected.csv"
    stored = [input_key, expected_key]
    writes = [
        storage.put_bytes(input_key, input_csv, "text/csv"),
        storage.put_bytes(expected_key, expected_csv, "text/csv"),
    ]
    if report is not None or (hints is not None and not hints.empty):
        # the planner reads the instructions and the hints beside the train pair
        document = {
            "general_instructions": description.general_instructions,
            "column_instructions": description.column_instructions,
            "built_from_instructions": bool(report and report.built_from_instructions),
        }
        if hints is not None and not hints.empty:
            document["hints"] = hints.model_dump(mode="json")
        stored.append(instructions_key(input_key))
        writes.append(storage.put_bytes(stored[-1], json.dumps(document).encode(), "application/json"))
    try:
        uploads = await asyncio.gather(*writes, return_exceptions=True)  # all settle before any clean-up
        for outcome in uploads:
            if isinstance(outcome, BaseException):
                raise outcome
        try:
            job = await _commit_job(
                sessions, settings, client_id, internal_id, public_id, submission, header, input_key, expected_key,
                input_csv, expected_csv, description, report, file_formats,
            )
        except IntegrityError:  # another request created or replaced this job id meanwhile
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"job {public_id} was created or replaced by another request; retry"
            ) from None
    except BaseException:
        await delete_quietly(storage, stored)
        raise
    if replacing:
        await _remove_replaced_files(
            sessions, storage, internal_id, job_prefix(client_id, internal_id), keep=folder
        )
    return job


async def _commit_job(
    sessions, settings, client_id, job_id, public_id, submission, header, input_key, expected_key, input_csv,
    expected_csv,
    description: JobDescription, report: InstructionReport | None, file_formats: dict[str, FileFormat] | None = None,
) -> Job:
    event = JobSubmitted(
        job_id=job_id,
        client_id=client_id,
        submission=submission,
        input_key=input_key,
        expected_key=expected_key,
        header=header,
    )
    async with sessions() as session, session.begin():
        await session.execute(select(func.pg_advisory_xact_lock(ADMISSION_LOCK)))
        await check_admission(session, settings, client_id)
        await session.execute(
            pg_insert(Client)
            .values(id=client_id, name=client_id)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        # A replaced job loses its attempts, events, runs and artifacts with the old row (ON DELETE CASCADE).
        await session.execute(delete(Job).where(Job.id == job_id, Job.client_id == client_id))
        job = Job(
            id=job_id,
            public_id=public_id,
            client_id=client_id,
            status="queued",
            stage="queued",
            percent=0,
            message="queued",
            header=header,
            input_key=input_key,
            expected_key=expected_key,
            attempt=1,
            submission=submission,
            job_title=description.job_title,
            description=description.description,
            owner=description.owner,
            general_instructions=description.general_instructions,
            column_instructions=description.column_instructions,
            instructions=report.model_dump(mode="json") if report else None,
            file_formats={k: f.model_dump(mode="json") for k, f in file_formats.items()} if file_formats else None,
            created_at=event.created_at,
            updated_at=datetime.now(timezone.utc),
        )
        session.add(job)
        await session.flush()
        for kind, key, data in (
            ("train_input", input_key, input_csv),
            ("train_expected", expected_key, expected_csv),
        ):
            session.add(
                Artifact(
                    job_id=job_id,
                    kind=kind,
                    s3_key=key,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
        await outbox.enqueue(session, event)
    return job


async def delete_quietly(storage: Storage, keys: list[str]) -> None:
    """Undo uploads after a failed request without hiding the error that caused it."""
    try:
        await storage.delete_keys(keys)
    except Exception as exc:
        log.error("could not delete %s after a failed request: %s", keys, exc)


async def _remove_replaced_files(
    sessions: async_sessionmaker, storage: Storage, job_id: str, prefix: str, keep: str
) -> None:
    try:
        async with sessions() as session:
            current = await session.scalar(select(Job.input_key).where(Job.id == job_id))
        if current is None or not current.startswith(keep):
            return  # a newer submission replaced this one meanwhile: its request cleans up
        stale = [k for k in await storage.list_keys(prefix) if not k.startswith(keep)]
        if stale:
            await storage.delete_keys(stale)
    except Exception as exc:  # the new job is committed; leftovers only cost space
        log.warning("could not delete replaced files under %s: %s", prefix, exc)
