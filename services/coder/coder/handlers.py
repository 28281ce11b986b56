"""coder: job.planned -> job.coded (the script stored in S3 under {client}/{job}/attempt-N/script.py).

A search plan is rendered by the engine (render_script); an LLM plan already is a script and passes through.
"""
from __future__ import annotations

import hashlib
import json

from recast_common.consumer import DeadLetter, HandlerContext
from recast_common.events import Event, JobCoded, JobFailed, JobPlanned
from recast_common.stage_files import program_key_of_script, script_key
from recast_engine.dsl import Program

STAGE = "coding"


def render(program: Program, title: str) -> str:
    from recast_engine.render.script import render_script

    return render_script(program, title=title)


def script_for(event: JobPlanned) -> str:
    if event.source == "llm":
        if not event.llm_script:
            raise DeadLetter("an LLM plan without a script")
        return event.llm_script
    if event.program is None:
        raise DeadLetter("a search plan without a program")
    program = Program.model_validate(event.program)
    return render(program, f"Recast job {event.job_id}, attempt {event.attempt}.")


async def handle(event: Event, ctx: HandlerContext) -> list[Event]:
    if not isinstance(event, JobPlanned):
        return []
    await ctx.progress(STAGE, 10, f"writing the script (attempt {event.attempt})")
    try:
        script = script_for(event)
    except DeadLetter:
        raise
    except Exception as exc:  # noqa: BLE001 - a program the renderer cannot express fails this job only
        return [JobFailed(job_id=event.job_id, client_id=event.client_id, attempt=event.attempt,
                          reason=f"rendering the program failed: {type(exc).__name__}: {exc}", stage=STAGE)]
    key = script_key(event.input_key, event.attempt)
    stored = script.encode()
    await ctx.storage.put_bytes(key, stored, content_type="text/x-python")
    if event.program is not None:  # what the script reads, for the drift checks at inference
        await ctx.storage.put_bytes(program_key_of_script(key), json.dumps(event.program).encode(), "application/json")
    await ctx.progress(STAGE, 100, f"script written ({len(script.splitlines())} lines)")
    return [JobCoded(
        job_id=event.job_id, client_id=event.client_id, attempt=event.attempt,
        input_key=event.input_key, expected_key=event.expected_key, script_key=key,
        program=event.program, candidate_rank=event.candidate_rank, excluded=list(event.excluded),
        script_size=len(stored), script_sha256=hashlib.sha256(stored).hexdigest(), trust=event.trust,
    )]
