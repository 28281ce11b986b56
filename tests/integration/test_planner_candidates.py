"""The planner keeps its ranked candidates beside the submission and answers feedback from them: a failing
candidate is followed by the next kept one without a new search; a new search runs only once all have failed.

The first plan is published by the test (as in test_pipeline: a search checks every train row, so its own
candidates pass), with the candidates file the test wrote; the planner, coder, tester and projector are real."""
from __future__ import annotations

import asyncio
import json

from recast_common.events import JobPlanned, JobSubmitted, Topics
from recast_common.stage_files import candidates_key
from recast_engine.dsl import OutputColumn, Program, col
from test_pipeline import constant_kind_program, insert_job, mostly_constant_pair
from test_pipeline_kit import EventLog, create_client, get_object, job_done, new_id, publish, put_objects

STORED_NOTE = "the second kept candidate"

# every search says so in its progress, however short (the default publishes only from handlings over 1 s)
PIPELINE_ENV = {"RECAST_PROGRESS_DELAY_SECONDS": "0"}


def copy_program(note: str) -> Program:
    """The passing plan: both columns copied (the note tells where a planned program came from)."""
    return Program(header_rows=1, columns=[OutputColumn(header=col(0), value=col(0)),
                                           OutputColumn(header=col(1), value=col(1))], notes=[note])


async def start_with_failing_plan(pipeline, kept: list[Program]) -> tuple[str, str, str, Program]:
    settings = pipeline.settings
    client, _ = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    job = new_id("j")
    input_key, expected_key = f"{client}/{job}/train-1/input.csv", f"{client}/{job}/train-1/expected.csv"
    input_csv, expected_csv = mostly_constant_pair()
    candidates = {"programs": [p.model_dump(mode="json") for p in kept], "excluded": []}
    await put_objects(settings, {input_key: input_csv, expected_key: expected_csv,
                                 candidates_key(input_key): json.dumps(candidates).encode()})
    await insert_job(settings, client, job, input_key, expected_key)
    wrong = constant_kind_program()
    await publish(settings, JobPlanned(job_id=job, client_id=client, attempt=1, input_key=input_key,
                                       expected_key=expected_key, program=wrong.model_dump(mode="json")))
    return client, job, input_key, wrong


def searched(log: EventLog, job: str) -> list[int]:
    """The attempts for which the planner ran a search (it says so in its progress)."""
    return [e.attempt for e in log.of_job(job, Topics.JOB_PROGRESS)
            if e.stage == "planning" and e.message.startswith("searching")]


async def test_feedback_is_answered_with_the_next_kept_candidate_without_a_new_search(pipeline):
    settings = pipeline.settings
    async with EventLog(settings, Topics.ALL) as log:
        client, job, input_key, wrong = await start_with_failing_plan(
            pipeline, [constant_kind_program(), copy_program(STORED_NOTE)])
        done = await log.wait_for(job_done(job), timeout=120, what="end of the job")
        assert done.type == Topics.JOB_SUCCEEDED and done.attempt == 2, done
        replanned = [e for e in log.of_job(job, Topics.JOB_PLANNED) if e.attempt == 2]
        assert len(replanned) == 1
        assert replanned[0].program["notes"] == [STORED_NOTE]  # the kept one, not a search result
        assert wrong.fingerprint() in replanned[0].excluded
        assert searched(log, job) == []


async def test_a_new_search_runs_once_every_kept_candidate_failed_and_its_candidates_are_kept(pipeline):
    settings = pipeline.settings
    async with EventLog(settings, Topics.ALL) as log:
        client, job, input_key, wrong = await start_with_failing_plan(pipeline, [constant_kind_program()])
        done = await log.wait_for(job_done(job), timeout=180, what="end of the job")
        assert done.type == Topics.JOB_SUCCEEDED and done.attempt == 2, done
        assert searched(log, job) == [2]
        replanned = [e for e in log.of_job(job, Topics.JOB_PLANNED) if e.attempt == 2]
        kept = json.loads(await get_object(settings, candidates_key(input_key)))
        assert kept["excluded"] == [wrong.fingerprint()]
        assert kept["programs"] and kept["programs"][0] == replanned[0].program
        assert all(Program.model_validate(p).fingerprint() != wrong.fingerprint() for p in kept["programs"])


async def test_the_first_search_keeps_its_ranked_candidates_beside_the_profile(pipeline):
    settings = pipeline.settings
    client, job = new_id("c"), new_id("j")
    input_key, expected_key = f"{client}/{job}/train-1/input.csv", f"{client}/{job}/train-1/expected.csv"
    await put_objects(settings, {input_key: b"a,b\n1,2\n3,4\n", expected_key: b"b,a\n2,1\n4,3\n"})
    async with EventLog(settings, Topics.ALL) as log:
        await publish(settings, JobSubmitted(job_id=job, client_id=client, input_key=input_key,
                                             expected_key=expected_key))
        done = await log.wait_for(job_done(job), timeout=120, what="end of the job")
        assert done.type == Topics.JOB_SUCCEEDED, done
        planned = log.of_job(job, Topics.JOB_PLANNED)
    kept = json.loads(await get_object(settings, candidates_key(input_key)))
    assert kept["programs"][0] == planned[0].program
    assert candidates_key(input_key).rsplit("/", 1)[0] == input_key.rsplit("/", 1)[0]
