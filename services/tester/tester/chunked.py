"""Large inference runs in chunks, converted by the tester-inference replicas in parallel.

An inference.requested whose input is over settings.inference_chunk_threshold_bytes and whose program is
row-local (recast_engine.dsl.locality) is split on record boundaries (recast_engine.chunking) into chunks of
about settings.inference_chunk_bytes: one inference.chunk.requested per chunk, sent to the partitions in turn
so that chunks spread evenly over the replicas. Each chunk's output is one part (its index + 1) of a multipart
upload of the run's output; Postgres (chunked_runs, inference_chunks) records which parts are in.

The input is profiled chunk by chunk too (a profile of the whole input in one pass takes far longer than its
conversion): the splitter only decides the layout every chunk is profiled with (tester.drift.input_layout), each
chunk profiles its own range beside its script run (tester.chunk_profile) and keeps the partial profile in its
row. The last chunk to come in completes the upload in order, merges the partial profiles into the input's
profile and its drift (tester.drift.merged_input_profile; not for a run that fails or goes whole) and announces
inference.completed with the totals over all chunks, and the same profile fields an unsplit run's announcement
carries. The partial profiles are dropped when the run ends, however it ends.

A chunk converted again (its message redelivered after a replica died mid-run) uploads its part again under
the same number, which replaces the first, and its partial profile replaces the first in its row: no row is
written or profiled twice. A chunk that fails is retried alone, up to settings.inference_chunk_max_tries
starts; then the run fails. When a part but the last comes out smaller than S3 accepts
(settings.s3_min_part_bytes), the upload is dropped and the run converts unsplit (`whole`).
Whichever chunk ended the run (completed, failed or sent whole) announces it again when redelivered, since its
first announcement may not have been sent.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import mmap
import tempfile
import time
import zlib
from collections.abc import Awaitable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel
from recast_common.consumer import HandlerContext, derived_event_id, replica_id
from recast_common.db import session_factory
from recast_common.db.models import ChunkedRun, InferenceChunk
from recast_common.events import (
    Event,
    InferenceChunkRequested,
    InferenceCompleted,
    InferenceFailed,
    InferenceRequested,
    Topics,
)
from recast_common.formulas import neutralize_file
from recast_common.kafka import publish_event, topic_partitions
from recast_common.stage_files import program_key_of_script
from recast_engine.chunking import ChunkPlan, Unsplittable, count_records, plan_chunks, record_end
from recast_engine.dsl.locality import row_locality
from recast_engine.dsl.model import Program
from recast_engine.verify.warnings import ConversionWarnings, describe_warnings, merge_warnings, read_summary
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from tester.chunk_profile import profile_chunk
from tester.drift import input_layout, merged_input_profile

log = logging.getLogger("tester.chunked")

STAGE = "inference"
T = TypeVar("T")


class ChunkFailed(RuntimeError):
    """A chunk's script run failed: the consumer retries this chunk alone."""


def _ids(event: InferenceRequested | InferenceChunkRequested) -> dict[str, Any]:
    return {"job_id": event.job_id, "client_id": event.client_id, "attempt": event.attempt, "run_id": event.run_id}


async def split_run(event: InferenceRequested, ctx: HandlerContext, source: Path, facts: dict[str, Any]
                    ) -> list[Event] | None:
    """The chunk events of a large run with a row-local program, or None when it converts whole.

    `facts`: what the run's inference.completed will carry about its input (its key, size and sha256)."""
    settings = ctx.settings
    if event.whole or source.stat().st_size <= settings.inference_chunk_threshold_bytes:
        return None
    program = await _program_of(ctx, event.script_key)
    if program is None:
        log.info("run %s converts whole: its script has no program (an LLM script)", event.run_id)
        return None
    locality = row_locality(program)
    if not locality.row_local:
        log.info("run %s converts whole: %s", event.run_id, locality.reason)
        return None
    try:
        plan = await asyncio.to_thread(_plan, source, settings.inference_chunk_bytes, locality.first_record)
    except Unsplittable as exc:
        log.info("run %s converts whole: the input cannot be split (%s)", event.run_id, exc)
        return None
    if len(plan.chunks) < 2:
        return None
    facts = {key: _as_json(value) for key, value in facts.items()}
    facts |= {"strict": event.strict, "drop_first_record": locality.first_record}
    try:
        facts["profile_layout"] = (await input_layout(ctx, event.script_key, source)).model_dump()
    except Exception as exc:  # noqa: BLE001 - profiling never fails a run: the chunks go unprofiled
        log.warning("run %s: the input's layout could not be read, it goes without a profile: %s", event.run_id, exc)
    upload_id = await _open_run(ctx, event, plan, facts)
    count = len(plan.chunks)
    chunks = [
        InferenceChunkRequested(
            **_ids(event), input_key=event.input_key, output_key=event.output_key, script_key=event.script_key,
            upload_id=upload_id, chunk_index=chunk.index, chunk_count=count, start=chunk.start, end=chunk.end,
            prefix_end=plan.prefix_end, drop_first_record=locality.first_record,
            neutralize_formulas=event.neutralize_formulas, submission=event.submission,
            event_id=derived_event_id(event.event_id, f"{ctx.consumer}:chunks", chunk.index),
        )
        for chunk in plan.chunks
    ]
    await ctx.progress(STAGE, 0, f"run {event.run_id}: {count} chunks of about "
                                 f"{settings.inference_chunk_bytes / 2**20:.0f} MiB")
    if ctx.broker is None:
        return list(chunks)
    # published here, over the partitions in turn (the consumer would key its outputs by job: one partition, one
    # replica; keyed by chunk, 9 chunks on 4 partitions often went 7 to one replica); a redelivered request
    # sends them again under the same ids, to the same partitions, which the consumers skip
    partitions = await _partition_count(ctx, event.run_id)
    first = zlib.crc32(event.run_id.encode())
    for chunk_event in chunks:
        partition = None if partitions is None else (first + chunk_event.chunk_index) % partitions
        await publish_event(ctx.broker, chunk_event, partition=partition)
    return []


async def _partition_count(ctx: HandlerContext, run_id: str) -> int | None:
    """The chunk topic's partition count (None, logged, when the broker does not say: chunks go by key)."""
    try:
        count = (await topic_partitions(ctx.settings, [Topics.INFERENCE_CHUNK_REQUESTED])).get(
            Topics.INFERENCE_CHUNK_REQUESTED)
    except Exception as exc:  # noqa: BLE001 - the chunks are published by key then
        log.warning("run %s: the chunk topic's partitions are unknown (%s); chunks go by key", run_id, exc)
        return None
    return count or None


async def _chunks_of(session: Any, run_id: str) -> list[InferenceChunk]:
    query = select(InferenceChunk).where(InferenceChunk.run_id == run_id).order_by(InferenceChunk.chunk_index)
    return list((await session.execute(query)).scalars())


def _as_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    return value


async def _program_of(ctx: HandlerContext, script_key: str) -> Program | None:
    key = program_key_of_script(script_key)
    if await ctx.storage.head(key) is None:
        return None
    return Program.model_validate_json(await ctx.storage.get_bytes(key))


def _plan(source: Path, chunk_bytes: int, first_record: bool) -> ChunkPlan:
    with source.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return plan_chunks(data, chunk_bytes, first_record)


async def _open_run(ctx: HandlerContext, event: InferenceRequested, plan: ChunkPlan, facts: dict[str, Any]) -> str:
    """The run's upload id: a new multipart upload with its rows, or the one a first delivery opened."""
    sessions = session_factory(ctx.settings)
    async with sessions() as session:
        existing = await session.get(ChunkedRun, event.run_id)
    if existing is not None:
        return existing.upload_id
    upload_id = await ctx.storage.start_multipart(event.output_key, "text/csv")
    async with sessions() as session, session.begin():
        created = (await session.execute(
            insert(ChunkedRun).values(run_id=event.run_id, job_id=event.job_id, output_key=event.output_key,
                                      upload_id=upload_id, chunk_count=len(plan.chunks), facts=facts)
            .on_conflict_do_nothing().returning(ChunkedRun.run_id)
        )).first()
        if created is not None:
            session.add_all(InferenceChunk(run_id=event.run_id, chunk_index=c.index) for c in plan.chunks)
    if created is None:  # another delivery of the request opened it meanwhile
        await ctx.storage.abort_multipart(event.output_key, upload_id)
        async with sessions() as session:
            return (await session.get(ChunkedRun, event.run_id)).upload_id
    return upload_id


async def convert_chunk(event: InferenceChunkRequested, ctx: HandlerContext) -> list[Event]:
    """Convert one chunk and upload its output as its part; the last chunk in completes the run."""
    sessions = session_factory(ctx.settings)
    async with sessions() as session, session.begin():
        run = await session.get(ChunkedRun, event.run_id)
        if run is None or run.state != "converting":
            return _closing_events(run, event, event.chunk_index)
        layout = run.facts.get("profile_layout")
        chunk = await session.get(InferenceChunk, (event.run_id, event.chunk_index), with_for_update=True)
        if chunk.state == "done":  # converted, but the message was not acknowledged: only the ending is left
            finished = True
        else:
            finished = False
            chunk.tries += 1
            chunk.state, chunk.replica = "running", replica_id()
        tries = chunk.tries
    if finished:
        return await _finish_chunk(ctx, event, None)
    max_tries = ctx.settings.inference_chunk_max_tries
    if tries > max_tries:
        return await _fail_run(ctx, event, f"chunk {event.chunk_index + 1} of {event.chunk_count} was started "
                                           f"{max_tries} times without finishing")
    await ctx.progress(STAGE, 0, f"run {event.run_id}: chunk {event.chunk_index + 1}/{event.chunk_count} "
                                 f"converting (try {tries})")
    from tester.inference import run_script_sandboxed  # the sandbox as the whole run uses it

    with tempfile.TemporaryDirectory(prefix="recast-chunk-") as tmp:
        folder = Path(tmp)
        script, source, output = folder / "script.py", folder / "input.csv", folder / "output.csv"
        await ctx.storage.download_file(event.script_key, script)
        ranges = [(event.start, event.end)] if event.chunk_index == 0 else [(0, event.prefix_end),
                                                                              (event.start, event.end)]
        await ctx.storage.download_ranges(event.input_key, source, ranges)
        profiling = None if layout is None else asyncio.ensure_future(_timed(profile_chunk(
            source, 0 if event.chunk_index == 0 else event.prefix_end, source.stat().st_size,
            event.chunk_index == 0, layout, ctx.settings.sandbox_timeout_seconds)))
        try:
            run = await asyncio.to_thread(run_script_sandboxed, script, source, output, ctx.settings)
            if not run.ok or not output.exists():
                reason = (f"the script failed on chunk {event.chunk_index + 1}: "
                          f"{run.reason if not run.ok else 'no output'}")
                if tries >= max_tries:
                    return await _fail_run(ctx, event, reason)
                raise ChunkFailed(reason)
            metrics: dict[str, Any] = {"wall_seconds": round(run.wall_seconds, 3),
                                       "peak_rss_mb": round(run.peak_rss_mb, 1),
                                       "input_bytes": event.end - event.start,
                                       "input_rows": await asyncio.to_thread(_records_from, source, event)}
            warnings = read_summary(run.summary_line)
            metrics["warnings"] = warnings.model_dump(mode="json") if warnings is not None else None
            if event.neutralize_formulas:
                metrics["formulas_neutralized"] = await asyncio.to_thread(neutralize_file, output)
            drop = event.drop_first_record and event.chunk_index > 0
            part, records = await asyncio.to_thread(_part_of, output, drop)
            profile, metrics["profile_seconds"] = (None, 0.0) if profiling is None else await profiling
        finally:
            await _drop(profiling)  # unless done: the chunk failed, its profile is not wanted
    etag = await ctx.storage.upload_part(event.output_key, event.upload_id, event.chunk_index + 1, part)
    return await _finish_chunk(ctx, event, UploadedPart(etag=etag, part_size=len(part), output_rows=records,
                                                        metrics=metrics, profile=profile))


async def _timed(work: Awaitable[T]) -> tuple[T, float]:
    """What `work` gives and the seconds it took."""
    started = time.monotonic()
    result = await work
    return result, round(time.monotonic() - started, 3)


async def _drop(profiling: asyncio.Future[Any] | None) -> None:
    """Stop a chunk's profiling unless it is done (its process is killed)."""
    if profiling is not None and not profiling.done():
        profiling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await profiling


def _records_from(source: Path, event: InferenceChunkRequested) -> int:
    """How many records of the whole input the chunk holds (its range, not the prefix repeated before it)."""
    skipped = 0 if event.chunk_index == 0 else event.prefix_end
    if source.stat().st_size <= skipped:
        return 0
    with source.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return count_records(data, skipped)


def _part_of(output: Path, drop_first_record: bool) -> tuple[bytes, int]:
    """The chunk's output as its part (without the record the prefix yielded) and how many records it holds."""
    data = output.read_bytes()
    if drop_first_record:
        data = data[record_end(data, 0):]
    return data, count_records(data)


class UploadedPart(BaseModel):
    """A converted chunk, as its row records it: its part of the upload, its rows, metrics and partial profile."""

    etag: str
    part_size: int
    output_rows: int
    metrics: dict[str, Any]  # the chunk's run metrics, stored as they are (the run's totals add them up)
    profile: bytes | None  # the packed partial profile (recast_engine.profiling.partial), None when not made


async def _finish_chunk(ctx: HandlerContext, event: InferenceChunkRequested, part: UploadedPart | None
                        ) -> list[Event]:
    """Record the chunk's part (None: recorded before); the chunk bringing the last part ends the run."""
    sessions = session_factory(ctx.settings)
    async with sessions() as session, session.begin():
        run = await session.get(ChunkedRun, event.run_id, with_for_update=True)  # one chunk at a time ends it
        if run is None or run.state != "converting":
            return _closing_events(run, event, event.chunk_index)
        chunks = await _chunks_of(session, event.run_id)
        if part is not None:
            chunk = chunks[event.chunk_index]
            chunk.state, chunk.etag, chunk.part_size = "done", part.etag, part.part_size
            chunk.output_rows, chunk.metrics, chunk.profile = part.output_rows, part.metrics, part.profile
        done = sum(c.state == "done" for c in chunks)
        closing: list[Event] = []
        if done == len(chunks):
            await _end_run(ctx, run, chunks, event.chunk_index)
            if run.state == "completed":  # a run that goes whole is profiled then; a failed one not at all
                run.facts = {**run.facts, **await _input_profile(ctx, session, event)}
            await _drop_partial_profiles(session, event.run_id)
            closing = _closing_events(run, event, event.chunk_index)
    if part is not None:
        await ctx.progress(STAGE, done * 100 // len(chunks),
                           f"run {event.run_id}: chunk {event.chunk_index + 1}/{event.chunk_count} done "
                           f"({done}/{len(chunks)})")
    return closing


async def _input_profile(ctx: HandlerContext, session: Any, event: InferenceChunkRequested) -> dict[str, Any]:
    """The input's profile fields for the run's facts, merged from its chunks' partial profiles; none when a
    chunk has none."""
    query = (select(InferenceChunk.profile).where(InferenceChunk.run_id == event.run_id)
             .order_by(InferenceChunk.chunk_index))
    parts = list((await session.execute(query)).scalars())
    if not parts or any(part is None for part in parts):
        log.warning("run %s: %d of its %d chunks have no partial profile; the input goes without a profile",
                    event.run_id, sum(part is None for part in parts), len(parts))
        return {}
    profile = await merged_input_profile(ctx, event, parts)
    return {key: _as_json(value) for key, value in profile.items()}


async def _drop_partial_profiles(session: Any, run_id: str) -> None:
    """The chunks' partial profiles are kept until their run ends, however it ends."""
    await session.execute(update(InferenceChunk).where(InferenceChunk.run_id == run_id).values(profile=None))


async def _end_run(ctx: HandlerContext, run: ChunkedRun, chunks: list[InferenceChunk], ender: int) -> None:
    """Complete the upload (or drop it when a part is too small for S3) and record how the run ended."""
    warnings = run_warnings(chunks, bool(run.facts.get("drop_first_record")))
    if warnings is not None:
        run.facts = {**run.facts, "warnings": warnings.model_dump(mode="json")}
    if run.facts.get("strict") and warnings is not None and warnings.warnings:
        await ctx.storage.abort_multipart(run.output_key, run.upload_id)
        reason = f"strict mode: the script could not convert everything: {describe_warnings(warnings)}"
        run.state = "failed"
        run.facts = {**run.facts, "reason": reason[:2000], "ended_by": ender}
        return
    small = [c.chunk_index + 1 for c in chunks[:-1] if (c.part_size or 0) < ctx.settings.s3_min_part_bytes]
    try:
        if not small:
            await ctx.storage.complete_multipart(run.output_key, run.upload_id, [c.etag or "" for c in chunks])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "EntityTooSmall":
            small = ["some"]  # the store's minimum is above settings.s3_min_part_bytes
        elif await ctx.storage.head(run.output_key) is None:
            raise
        # else completed before, by a transaction that did not commit: the object is there
    if small:
        log.info("run %s: parts %s are under S3's minimum part size; the run converts whole", run.run_id, small)
        await ctx.storage.abort_multipart(run.output_key, run.upload_id)
        run.state = "whole"
    else:
        run.state = "completed"
        run.facts = {**run.facts, "metrics": run_totals(run, chunks)}
    run.facts = {**run.facts, "ended_by": ender}


def run_totals(run: ChunkedRun, chunks: list[InferenceChunk]) -> dict[str, Any]:
    """The run's metrics over all its chunks."""
    per_chunk = [c.metrics or {} for c in chunks]
    totals: dict[str, Any] = {
        "chunks": len(chunks),
        "wall_seconds": round((datetime.now(timezone.utc) - run.created_at).total_seconds(), 3),
        "chunk_wall_seconds": round(sum(m.get("wall_seconds", 0.0) for m in per_chunk), 3),
        "chunk_profile_seconds": round(sum(m.get("profile_seconds", 0.0) for m in per_chunk), 3),
        "peak_rss_mb": max((m.get("peak_rss_mb", 0.0) for m in per_chunk), default=0.0),
        "input_bytes": run.facts.get("input_size"),
        "output_bytes": sum(c.part_size or 0 for c in chunks),
        "output_rows": sum(c.output_rows or 0 for c in chunks),
        "replicas": len({c.replica for c in chunks}),
    }
    if any("formulas_neutralized" in m for m in per_chunk):
        totals["formulas_neutralized"] = sum(m.get("formulas_neutralized", 0) for m in per_chunk)
    return totals


def run_warnings(chunks: list[InferenceChunk], drop_first_record: bool) -> ConversionWarnings | None:
    """What the script could not convert over all the chunks (None when a chunk's script did not say): each
    chunk's rows renumbered after the rows of the chunks before it, output rows and input rows each (the header
    row, repeated in every chunk but the first, is left out)."""
    parts, output_before, input_before = [], 0, 0
    for chunk in chunks:
        metrics = chunk.metrics or {}
        summary = metrics.get("warnings")
        if summary is None:
            return None
        repeated_header = 1 if drop_first_record and chunk.chunk_index > 0 else 0
        parts.append((ConversionWarnings.model_validate(summary), output_before - repeated_header,
                      input_before - repeated_header))
        output_before += chunk.output_rows or 0
        input_before += metrics.get("input_rows", chunk.output_rows or 0)
    return merge_warnings(parts)


def _closing_events(run: ChunkedRun | None, event: InferenceRequested | InferenceChunkRequested, ender: int
                    ) -> list[Event]:
    """The event announcing how the run ended, for the one that ended it (else nothing)."""
    if run is None or run.state == "converting" or run.facts.get("ended_by") != ender:
        return []
    facts = run.facts
    inputs = {k: facts.get(k) for k in ("input_key", "input_size", "input_sha256")}
    if run.state == "completed":
        profile = {k: facts[k] for k in ("profile_key", "profile_size", "profile_sha256", "input_profile",
                                          "drift_warnings") if k in facts}
        return [InferenceCompleted(**_ids(event), **inputs, **profile, output_key=run.output_key,
                                   metrics=facts["metrics"], output_size=facts["metrics"]["output_bytes"],
                                   warnings=facts.get("warnings"))]
    if run.state == "whole":
        return [InferenceRequested(**_ids(event), input_key=event.input_key, output_key=event.output_key,
                                   script_key=event.script_key, neutralize_formulas=event.neutralize_formulas,
                                   whole=True, strict=bool(facts.get("strict")))]
    return [InferenceFailed(**_ids(event), **inputs, reason=facts.get("reason", "the run failed"),
                            warnings=facts.get("warnings"))]


async def _fail_run(ctx: HandlerContext, event: InferenceChunkRequested, reason: str) -> list[Event]:
    sessions = session_factory(ctx.settings)
    async with sessions() as session, session.begin():
        run = await session.get(ChunkedRun, event.run_id, with_for_update=True)
        if run is not None and run.state == "converting":
            await ctx.storage.abort_multipart(run.output_key, run.upload_id)
            run.state = "failed"
            run.facts = {**run.facts, "reason": reason, "ended_by": event.chunk_index}
            await _drop_partial_profiles(session, event.run_id)
        return _closing_events(run, event, event.chunk_index)
