"""Inference runs: store the input, commit the run row with its outbox event, then wait for the projection."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterable, AsyncIterator

from fastapi import HTTPException, status
from recast_common.api import FileFormat, InferenceResult
from recast_common.db import outbox
from recast_common.db.models import InferenceRun, Job
from recast_common.events import InferenceRequested
from recast_common.storage import Storage
from recast_engine.verify.warnings import describe_warnings
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.core.ids import job_prefix, new_id
from gateway.notify import Notifications
from gateway.training import delete_quietly

POLL_SECONDS = 1.0


# How much of a streamed input is checked for UTF-8 CSV before anything is stored.
HEAD_BYTES = 64 * 1024


RUN_MESSAGES = {
    "pending": "Inference job accepted; poll status_url for the result.",
    "succeeded": "Inference job completed successfully.",
    "failed": "Inference job failed",
}


def status_url(run_id: str) -> str:
    return f"/api/v1/inference/{run_id}"


def output_url(run_id: str) -> str:
    return f"/api/v1/inference/{run_id}/output"


def ensure_ready(job: Job) -> None:
    if job.status != "succeeded" or not job.script_key:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"job {job.public_id} has no learned script yet (status {job.status})"
        )


async def split_head(chunks: AsyncIterable[bytes], size: int) -> tuple[bytes, AsyncIterator[bytes] | None]:
    """The first `size` bytes (or fewer) of a stream and an iterator over all of it, or None if it ended."""
    iterator = aiter(chunks)
    head = bytearray()
    async for chunk in iterator:
        head += chunk
        if len(head) >= size:
            break
    else:
        return bytes(head), None
    first = bytes(head)

    async def whole() -> AsyncIterator[bytes]:
        yield first
        async for chunk in iterator:
            yield chunk

    return first, whole()


async def request_run(
    sessions: async_sessionmaker, storage: Storage, job: Job, input_csv: bytes | AsyncIterable[bytes],
    neutralize_formulas: bool = False, input_format: FileFormat | None = None, strict: bool = False,
) -> str:
    """Store the input (bytes, or a stream stored in parts) and commit a pending run with its event."""
    ensure_ready(job)
    run_id = new_id()
    folder = f"{job_prefix(job.client_id, job.id)}runs/{run_id}/"
    input_key, output_key = folder + "input.csv", folder + "output.csv"
    if isinstance(input_csv, bytes):
        await storage.put_bytes(input_key, input_csv, "text/csv")
    else:
        await storage.put_stream(input_key, input_csv, "text/csv")
    try:
        async with sessions() as session, session.begin():
            # The job may have been replaced since it was read: the tester would skip the run as stale and
            # leave it pending. The share lock holds off a replacement until this run is committed.
            current = (
                await session.execute(select(Job.submission).where(Job.id == job.id).with_for_update(read=True))
            ).first()
            if current is None or current.submission != job.submission:
                raise HTTPException(status.HTTP_409_CONFLICT, f"job {job.public_id} was replaced or deleted; retry")
            session.add(
                InferenceRun(
                    id=run_id,
                    job_id=job.id,
                    client_id=job.client_id,
                    status="pending",
                    input_key=input_key,
                    output_key=output_key,
                    input_format=input_format.model_dump(mode="json") if input_format else None,
                )
            )
            await session.flush()
            await outbox.enqueue(
                session,
                InferenceRequested(
                    job_id=job.id,
                    client_id=job.client_id,
                    attempt=job.attempt,
                    submission=job.submission,
                    run_id=run_id,
                    input_key=input_key,
                    output_key=output_key,
                    script_key=job.script_key,
                    neutralize_formulas=neutralize_formulas,
                    strict=strict,
                ),
            )
    except BaseException:
        await delete_quietly(storage, [input_key])
        raise
    return run_id


async def wait_for_run(
    sessions: async_sessionmaker, notifications: Notifications | None, run_id: str, timeout: float
) -> InferenceRun | None:
    """The run once it left 'pending', or its pending row when `timeout` passed (None if it vanished)."""
    deadline = time.monotonic() + timeout
    while True:
        async with sessions() as session:
            run = await session.get(InferenceRun, run_id)
        if run is None or run.status != "pending":
            return run
        left = deadline - time.monotonic()
        if left <= 0:
            return run
        if notifications is not None and notifications.listening:
            await notifications.wait(run_id, min(left, POLL_SECONDS * 5))
        else:
            await asyncio.sleep(min(left, POLL_SECONDS))


async def describe_run(
    sessions: async_sessionmaker, storage: Storage, run: InferenceRun, inline_limit: int
) -> InferenceResult:
    """The run as the API shows it; the output inline only when it is at most `inline_limit` bytes."""
    async with sessions() as session:
        job = await session.get(Job, run.job_id)
    result = InferenceResult(
        run_id=run.id,
        job_id=job.public_id if job is not None else run.job_id,
        status=run.status,
        status_url=status_url(run.id),
        error=run.error,
        metrics=run.metrics,
        client_id=run.client_id,
        input_file=run.input_key,
        created_at=run.created_at,
        message=RUN_MESSAGES[run.status] + (f": {run.error}" if run.error else ""),
        drift_warnings=run.drift_warnings or [],
        input_format=run.input_format,
        warnings=run.warnings,
    )
    if run.status == "succeeded" and result.warnings is not None and result.warnings.warnings:
        result.message += f" Some cells could not be converted (see warnings): {describe_warnings(result.warnings)}"
    if run.status == "succeeded":
        if job is not None and job.script_key:
            script = await storage.get_bytes(job.script_key)
            result.script = result.python_script_base64 = base64.b64encode(script).decode()
            result.script_text = script.decode("utf-8", errors="replace")
            result.script_s3_path = job.script_key
        size = await storage.head(run.output_key)
        if size is not None:
            result.output_url = output_url(run.id)
            result.output_s3_path = run.output_key
            if size <= inline_limit:
                output = base64.b64encode(await storage.get_bytes(run.output_key)).decode()
                result.output_file_base64 = result.output_csv_base64 = output
    return result
