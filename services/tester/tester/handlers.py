"""tester: job.coded -> job.succeeded | job.feedback | job.failed (handle_coded, the train loop);
inference.requested -> inference.completed | inference.failed is tester.inference.handle_inference (the
inference loop).

A train attempt runs the script in the sandbox on the whole train input and compares with the expected output.
Each attempt's verdict is stored next to its script (attempt-N/verdict.json) so that a job failing for good
reports its best attempt.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import tempfile
from pathlib import Path

from recast_common.consumer import HandlerContext
from recast_common.errors import is_transient
from recast_common.events import Event, JobCoded, JobFailed, JobFeedback, JobSucceeded
from recast_common.stage_files import profile_key, verdict_key
from recast_engine.dsl import candidate_fingerprint, script_fingerprint
from recast_engine.verify.verdict import Verdict, compare_files, run_failed

from tester.inference import run_script_sandboxed

log = logging.getLogger(__name__)

STAGE = "testing"


def attempt_fingerprint(event: JobCoded, script: str) -> str:
    if event.program is not None:
        try:
            return candidate_fingerprint(event.program)
        except Exception as exc:  # noqa: BLE001 - an unreadable program is still excluded by its script
            log.warning("job %s: program unreadable (%s); excluding the script instead", event.job_id, exc)
    return script_fingerprint(script)


async def test_attempt(event: JobCoded, ctx: HandlerContext) -> tuple[Verdict, str]:
    """Run the attempt's script on the train input; returns its verdict and the script text."""
    with tempfile.TemporaryDirectory(prefix="recast-test-") as tmp:
        folder = Path(tmp)
        script, source, expected, output = (folder / n for n in ("script.py", "input.csv", "expected.csv",
                                                                  "output.csv"))
        # the three files at once, and the profile's header guess while the script runs: the tester is the stage
        # jobs queue for, so its waits are the pipeline's
        downloads = await asyncio.gather(*(ctx.storage.download_file(key, path) for key, path in (
            (event.script_key, script), (event.input_key, source), (event.expected_key, expected))),
            return_exceptions=True)  # all settle before the folder goes
        for failed in downloads:
            if isinstance(failed, BaseException):
                raise failed
        header = asyncio.ensure_future(header_guess(ctx, event))
        try:
            await ctx.progress(STAGE, 20, f"running the script on the train input (attempt {event.attempt})")
            run = await asyncio.to_thread(run_script_sandboxed, script, source, output, ctx.settings)
            text = script.read_text(encoding="utf-8", errors="replace")
            if not run.ok:
                return run_failed(run), text
            await ctx.progress(STAGE, 80, "comparing with the expected output")
            # a missing output file is a failed verdict ("the script wrote no output file"), not an exception
            verdict = await asyncio.to_thread(compare_files, expected, output, await header)
            return verdict.with_run(run), text
        finally:
            if not header.done():
                header.cancel()
            await asyncio.gather(header, return_exceptions=True)


async def header_guess(ctx: HandlerContext, event: JobCoded) -> bool:
    """Whether the expected output has a header row, from the job's profile (only names the diff's columns)."""
    try:
        profile = json.loads(await ctx.storage.get_bytes(profile_key(event.input_key)))
    except Exception as exc:  # noqa: BLE001 - no profile: compare without naming columns
        if is_transient(exc):
            raise  # S3 away: the consumer waits for it
        return False
    return bool(profile.get("header_guess"))


async def best_verdict(ctx: HandlerContext, event: JobCoded, current: Verdict) -> Verdict:
    best = current
    for attempt in range(1, event.attempt):
        try:
            earlier = Verdict.model_validate_json(await ctx.storage.get_bytes(verdict_key(event.input_key, attempt)))
        except Exception as exc:  # noqa: BLE001 - an attempt without a stored verdict (e.g. failed while coding)
            if is_transient(exc):
                raise  # S3 away: the consumer waits for it, rather than forgetting a better attempt
            log.info("job %s attempt %d has no stored verdict: %s", event.job_id, attempt, exc)
            continue
        if earlier.score > best.score:
            best = earlier.model_copy(update={"attempt": attempt})
    return best


async def handle_coded(event: Event, ctx: HandlerContext) -> list[Event]:
    """job.coded (the train loop)."""
    if not isinstance(event, JobCoded):
        return []
    tested, script = await test_attempt(event, ctx)
    verdict = tested.model_copy(update={"attempt": event.attempt})
    key, stored = verdict_key(event.input_key, event.attempt), verdict.model_dump_json().encode()
    await ctx.storage.put_bytes(key, stored, content_type="application/json")
    common = {"job_id": event.job_id, "client_id": event.client_id, "attempt": event.attempt,
              "verdict_key": key, "verdict_size": len(stored), "verdict_sha256": hashlib.sha256(stored).hexdigest()}
    if verdict.passed:
        await ctx.progress(STAGE, 100, f"attempt {event.attempt} reproduces the expected output")
        return [JobSucceeded(**common, script_key=event.script_key, verdict=verdict, trust=event.trust)]
    summary = verdict.summary or verdict.error or "output differs from the expected output"
    await ctx.progress(STAGE, 100, f"attempt {event.attempt} failed: {summary}"[:500])
    if event.attempt < ctx.settings.max_attempts:
        excluded = [*event.excluded, attempt_fingerprint(event, script)]
        return [JobFeedback(**common, input_key=event.input_key, expected_key=event.expected_key,
                            verdict=verdict, excluded=list(dict.fromkeys(excluded)),
                            next_rank=event.candidate_rank + 1)]
    best = await best_verdict(ctx, event, verdict)
    reason = f"attempt {event.attempt} of {ctx.settings.max_attempts} failed, none left: {summary}"
    if best.attempt is not None and best.attempt != event.attempt:
        reason += f" (closest: attempt {best.attempt}: {best.summary or best.error or ''})"
    return [JobFailed(**common, reason=reason[:1000], verdict=best, attempt_verdict=verdict, stage=STAGE)]
