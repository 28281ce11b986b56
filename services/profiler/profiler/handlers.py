"""profiler: job.submitted -> job.profiled (profile JSON in S3, its summary in the event).

Both files are streamed from S3 to a temporary folder and profiled in one pass each, in bounded memory;
a large file reports job.progress events while it is read.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import time
from pathlib import Path

from recast_common.consumer import HandlerContext
from recast_common.events import Event, FileProfileSummary, JobFailed, JobProfiled, JobSubmitted
from recast_common.stage_files import profile_key
from recast_engine.profiling import profile_pair_files, summarize
from recast_engine.profiling.summary import file_summary

STAGE = "profiling"
PROGRESS_SECONDS = 2.0  # at most one progress event this often


def progress_reporter(ctx: HandlerContext, stage: str, what: str, low: int = 10, high: int = 95):
    """A callback for the profiling thread that publishes job.progress on the event loop, now and then."""
    loop = asyncio.get_running_loop()
    last = [time.monotonic()]

    def report(done: int, total: int | None, rows: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        share = done / total if total else 0.0
        percent = low + int((high - low) * min(1.0, share))
        message = f"{what}: {done / 1e6:.0f} of {(total or 0) / 1e6:.0f} MB, {rows} rows"
        asyncio.run_coroutine_threadsafe(ctx.progress(stage, percent, message), loop)

    return report


async def handle(event: Event, ctx: HandlerContext) -> list[Event]:
    if not isinstance(event, JobSubmitted):
        return []
    await ctx.progress(STAGE, 5, "reading the train pair")
    with tempfile.TemporaryDirectory(prefix="recast-profile-") as tmp:
        source, expected = Path(tmp) / "input.csv", Path(tmp) / "expected.csv"
        await ctx.storage.download_file(event.input_key, source)
        await ctx.storage.download_file(event.expected_key, expected)
        report = progress_reporter(ctx, STAGE, "profiling the train pair")
        try:
            profile = await asyncio.to_thread(_profile, source, expected, event.header, report)
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
        input_profile=FileProfileSummary(**file_summary(profile["input"])),
        expected_profile=FileProfileSummary(**file_summary(profile["expected"])),
    )]


def _profile(source: Path, expected: Path, header: str, report) -> dict:
    for path, what in ((source, "the train input CSV"), (expected, "the expected output CSV")):
        if path.stat().st_size == 0:
            raise ValueError(f"{what} is empty")
    profile = profile_pair_files(source, expected, header, report)
    if profile["input"]["rows"] == 0:
        raise ValueError("the train input CSV is empty")
    if profile["expected"]["rows"] == 0:
        raise ValueError("the expected output CSV is empty")
    return profile
