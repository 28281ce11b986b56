"""profiler: job.submitted -> job.profiled (profile JSON in S3, its summary in the event)."""
from __future__ import annotations

import asyncio
import hashlib
import json

from recast_common.consumer import HandlerContext
from recast_common.events import Event, JobFailed, JobProfiled, JobSubmitted
from recast_common.stage_files import profile_key
from recast_engine.profile import parse_csv, profile_pair, summarize

STAGE = "profiling"


async def handle(event: Event, ctx: HandlerContext) -> list[Event]:
    if not isinstance(event, JobSubmitted):
        return []
    await ctx.progress(STAGE, 5, "reading the train pair")
    input_bytes = await ctx.storage.get_bytes(event.input_key)
    expected_bytes = await ctx.storage.get_bytes(event.expected_key)
    try:
        profile = await asyncio.to_thread(_profile, input_bytes, expected_bytes, event.header)
    except ValueError as exc:
        return [JobFailed(job_id=event.job_id, client_id=event.client_id, attempt=event.attempt,
                          reason=str(exc), stage=STAGE)]
    key = profile_key(event.input_key)
    summary = summarize(profile)
    # The summary travels with the stored profile too, so later stages need no profiling code of their own.
    document = {**profile, "summary": summary}
    stored = json.dumps(document).encode()
    await ctx.storage.put_bytes(key, stored, content_type="application/json")
    await ctx.progress(STAGE, 100, f"{summary['input_rows']} input rows, {summary['expected_rows']} expected rows")
    return [JobProfiled(
        job_id=event.job_id, client_id=event.client_id, attempt=event.attempt,
        input_key=event.input_key, expected_key=event.expected_key, header=event.header,
        profile_key=key, summary=summary, profile_size=len(stored), profile_sha256=hashlib.sha256(stored).hexdigest(),
    )]


def _profile(input_bytes: bytes, expected_bytes: bytes, header: str) -> dict:
    input_grid = parse_csv(input_bytes)
    expected_grid = parse_csv(expected_bytes)
    if not input_grid:
        raise ValueError("the train input CSV is empty")
    if not expected_grid:
        raise ValueError("the expected output CSV is empty")
    return profile_pair(input_grid, expected_grid, header)
