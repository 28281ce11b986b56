"""planner: job.profiled | job.feedback -> job.planned (search candidate or LLM script) or job.failed.

The search ranks several candidates; the planner keeps them beside the submission's profile (candidates.json)
and answers job.feedback with the best one that has not failed yet, without searching again. Only when every
kept candidate failed does it search anew, with the failed fingerprints excluded (and keeps that search's
candidates). When nothing is left and an LLM endpoint is configured, the LLM writes a whole script instead.
"""
from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from recast_common.consumer import HandlerContext
from recast_common.errors import is_transient
from recast_common.events import Event, JobFailed, JobFeedback, JobPlanned, JobProfiled
from recast_common.stage_files import candidates_key, instructions_key, profile_key
from recast_engine.dsl import script_fingerprint

from planner import llm
from planner.plan import SearchOutcome, decide, search_candidates, search_failure_message, untried

log = logging.getLogger(__name__)

STAGE = "planning"
_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    # The search is CPU-bound: a worker process keeps the event loop (and Kafka heartbeats) responsive.
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


# The search stops itself at its timeout; past this grace the worker is killed so no job waits forever.
HARD_STOP_GRACE_SECONDS = 15.0


async def run_search(input_bytes: bytes, expected_bytes: bytes, header: str, timeout: float,
                     exclude: list[str], instructions: dict | None = None) -> SearchOutcome:
    global _pool
    loop = asyncio.get_running_loop()
    pool = _executor()
    future = loop.run_in_executor(pool, partial(search_candidates, instructions=instructions), input_bytes,
                                  expected_bytes, header, timeout, exclude)
    try:
        return await asyncio.wait_for(future, timeout + HARD_STOP_GRACE_SECONDS)
    except TimeoutError:
        _pool = None
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        log.warning("search overran its %.0fs budget: worker killed", timeout)
        return SearchOutcome([], error=f"the search did not stop within its {timeout:g}s budget and was killed")
    except BrokenProcessPool:
        _pool = None
        raise


async def _profile_info(ctx: HandlerContext, event: Event) -> tuple[str, dict]:
    """Header mode and profile summary of a job (the feedback event does not carry them)."""
    if isinstance(event, JobProfiled):
        return event.header, event.summary
    key = profile_key(event.input_key)
    try:
        profile = json.loads(await ctx.storage.get_bytes(key))
    except Exception as exc:  # noqa: BLE001 - a missing profile only costs the header hint
        if is_transient(exc):
            raise  # S3 away: the consumer waits for it, rather than planning without the profile
        log.warning("profile %s unreadable (%s): header mode auto", key, exc)
        return "auto", {}
    return profile.get("header_mode", "auto"), profile.get("summary", {})


async def _instructions(ctx: HandlerContext, event: Event) -> dict | None:
    """The job's instructions as sent ({general_instructions, column_instructions}), None when it has none."""
    try:
        return json.loads(await ctx.storage.get_bytes(instructions_key(event.input_key)))
    except Exception:  # noqa: BLE001 - no instructions file: a job without instructions
        return None


async def kept_candidates(ctx: HandlerContext, input_key: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The ranked candidates the last search of this submission kept, and its instruction report (none when
    there is no readable file)."""
    key = candidates_key(input_key)
    try:
        kept = json.loads(await ctx.storage.get_bytes(key))
    except Exception as exc:  # noqa: BLE001 - no file (or an unreadable one) only costs a new search
        if is_transient(exc):
            raise  # S3 away: the consumer waits for it, rather than searching again
        log.info("no kept candidates at %s (%s): searching", key, type(exc).__name__)
        return [], None
    if not isinstance(kept, dict):
        return [], None
    programs = kept.get("programs")
    report = kept.get("instruction_report")
    return ([p for p in programs if isinstance(p, dict)] if isinstance(programs, list) else [],
            report if isinstance(report, dict) else None)


async def keep_candidates(ctx: HandlerContext, input_key: str, outcome: SearchOutcome, excluded: list[str]) -> None:
    body = {"programs": outcome.programs, "excluded": excluded, "instruction_report": outcome.instruction_report}
    await ctx.storage.put_bytes(candidates_key(input_key), json.dumps(body).encode(), "application/json")


async def handle(event: Event, ctx: HandlerContext) -> list[Event]:
    if isinstance(event, JobProfiled):
        attempt, excluded, verdict, rank = event.attempt, [], None, 0
    elif isinstance(event, JobFeedback):
        attempt, excluded, verdict, rank = event.attempt + 1, list(event.excluded), event.verdict, event.next_rank
    else:
        return []
    settings = ctx.settings
    common = {"job_id": event.job_id, "client_id": event.client_id, "attempt": attempt}
    if attempt > settings.max_attempts:
        return [JobFailed(**common, reason=f"no passing conversion after {settings.max_attempts} attempts",
                          verdict=verdict, stage=STAGE)]

    planned = dict(**common, input_key=event.input_key, expected_key=event.expected_key, excluded=excluded)
    if isinstance(event, JobFeedback):
        kept, kept_report = await kept_candidates(ctx, event.input_key)
        remaining = untried(kept, excluded)
        if remaining:
            await ctx.progress(STAGE, 100, f"next ranked candidate ({len(remaining)} left, no new search)",
                               attempt=attempt)
            return [JobPlanned(**planned, program=remaining[0], source="search", candidate_rank=rank,
                               instruction_report=kept_report)]

    header, summary = await _profile_info(ctx, event)
    await ctx.progress(STAGE, 5, f"searching for a conversion (attempt {attempt})", attempt=attempt)
    input_bytes = await ctx.storage.get_bytes(event.input_key)
    expected_bytes = await ctx.storage.get_bytes(event.expected_key)
    instructions = await _instructions(ctx, event)
    outcome = await run_search(input_bytes, expected_bytes, header, settings.search_timeout_seconds, excluded,
                               instructions)
    report = outcome.instruction_report
    if not outcome.error:
        await keep_candidates(ctx, event.input_key, outcome, excluded)
    choice = decide(outcome, attempt=attempt, max_attempts=settings.max_attempts,
                    llm_enabled=bool(settings.llm_base_url))

    if choice.decision == "planned":
        await ctx.progress(STAGE, 100, f"candidate found in {outcome.elapsed:.1f}s", attempt=attempt)
        return [JobPlanned(**planned, program=choice.program, source="search", candidate_rank=rank,
                           instruction_report=report, trust=outcome.trust)]

    if choice.decision == "llm":
        await ctx.progress(STAGE, 50, "search found nothing; asking the LLM", attempt=attempt)
        messages = llm.build_messages(summary, llm.head(input_bytes), llm.head(expected_bytes), verdict,
                                      instructions=instructions, unexplained=outcome.unexplained,
                                      not_understood=(report or {}).get("not_understood"))
        try:
            script = await llm.propose_script(settings, messages)
        except Exception as exc:  # noqa: BLE001 - an unreachable LLM ends the job with a clear reason
            script, llm_error = None, f"LLM request failed: {type(exc).__name__}: {exc}"
        else:
            llm_error = "the LLM reply held no usable script"
        if script is not None and script_fingerprint(script) not in excluded:
            await ctx.progress(STAGE, 100, "the LLM proposed a script", attempt=attempt)
            return [JobPlanned(**planned, llm_script=script, source="llm", candidate_rank=rank,
                               instruction_report=report)]
        if script is not None:
            llm_error = "the LLM proposed a script that already failed"
        return [JobFailed(**common, reason=f"{choice.reason}; {llm_error}", verdict=verdict, stage=STAGE,
                          instruction_report=report)]

    reason = choice.reason if verdict is None else f"every candidate failed on the train pair ({choice.reason})"
    return [JobFailed(**common, reason=reason or search_failure_message(outcome), verdict=verdict, stage=STAGE,
                      instruction_report=report)]
