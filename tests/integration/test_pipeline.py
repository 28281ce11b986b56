"""The pipeline consumers on Kafka, driven by events published directly: the feedback loop (a failing first
candidate, a passing second one), idempotent handling of a redelivered event, dead letters, inference.

The by-example search verifies every candidate on all train rows, so it never proposes one that fails on them;
the feedback test therefore publishes the failing first plan itself (what a search checking only a sample of
rows would propose), and everything after it is the real planner, coder, tester and projector."""
from __future__ import annotations

import asyncio

from recast_common.events import JobPlanned, JobSubmitted, Topics
from recast_engine.dsl import OutputColumn, Program, col, const
from test_pipeline_kit import (
    EventLog,
    create_client,
    get_object,
    job_done,
    new_id,
    publish,
    put_objects,
    wait_job,
)

ROWS = 300
FIRST_ROWS_EXPLAINED = 200  # the search's default sample: a constant explains these rows, not the later ones


def mostly_constant_pair() -> tuple[bytes, bytes]:
    """Column `kind` is "std" on the first 200 rows and varies afterwards; the output copies it."""
    kinds = ["std"] * FIRST_ROWS_EXPLAINED + [f"k{i % 7}" for i in range(ROWS - FIRST_ROWS_EXPLAINED)]
    input_lines = ["id,kind,note"] + [f"{i},{k},n{i}" for i, k in enumerate(kinds)]
    expected_lines = ["id,kind"] + [f"{i},{k}" for i, k in enumerate(kinds)]
    return ("\n".join(input_lines) + "\n").encode(), ("\n".join(expected_lines) + "\n").encode()


def constant_kind_program() -> Program:
    """The 'simpler' candidate a sample-only check would accept: kind is always "std"."""
    return Program(header_rows=1, columns=[
        OutputColumn(header=col(0), value=col(0)), OutputColumn(header=col(1), value=const("std")),
    ], notes=["kind is always std (true on the first 200 rows only)"])


async def insert_job(settings, client: str, job: str, input_key: str, expected_key: str) -> None:
    """The job row the gateway would have written (so that the projector records this job's attempts)."""
    from recast_common.db import session_factory
    from recast_common.db.models import Job

    async with session_factory(settings)() as session, session.begin():
        session.add(Job(id=job, client_id=client, status="planning", stage="planning", header="auto",
                        input_key=input_key, expected_key=expected_key))


async def test_failing_first_candidate_then_passing_second(pipeline):
    settings = pipeline.settings
    client, api_key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    job = new_id("j")
    input_csv, expected_csv = mostly_constant_pair()
    input_key, expected_key = f"{client}/{job}/input.csv", f"{client}/{job}/expected.csv"
    await put_objects(settings, {input_key: input_csv, expected_key: expected_csv})
    await insert_job(settings, client, job, input_key, expected_key)
    wrong = constant_kind_program()
    async with EventLog(settings, Topics.ALL) as log:
        await publish(settings, JobPlanned(job_id=job, client_id=client, attempt=1, input_key=input_key,
                                           expected_key=expected_key, program=wrong.model_dump(mode="json")))
        done = await log.wait_for(job_done(job), timeout=120, what="end of the job")
        assert done.type == Topics.JOB_SUCCEEDED, done
        assert done.attempt == 2

        feedback = log.of_job(job, Topics.JOB_FEEDBACK)
        assert len(feedback) == 1 and feedback[0].attempt == 1
        assert feedback[0].verdict.passed is False
        assert wrong.fingerprint() in feedback[0].excluded
        replanned = [e for e in log.of_job(job, Topics.JOB_PLANNED) if e.attempt == 2]
        assert len(replanned) == 1 and replanned[0].source == "search"
        assert Program.model_validate(replanned[0].program).fingerprint() != wrong.fingerprint()
        assert wrong.fingerprint() in replanned[0].excluded
        coded = {e.attempt: e.script_key for e in log.of_job(job, Topics.JOB_CODED)}
        assert coded.keys() == {1, 2} and done.script_key == coded[2]
    script = (await get_object(settings, done.script_key)).decode()
    assert "'std'" not in script and '"std"' not in script  # the passing plan copies the column

    recorded = await asyncio.to_thread(wait_job, pipeline.url, api_key, client, job, 60)
    assert recorded["status"] == "succeeded" and recorded["attempt"] == 2
    assert [(a["number"], a["status"]) for a in recorded["attempts"]] == [(1, "failed"), (2, "passed")]
    assert recorded["attempts"][0]["verdict"]["passed"] is False


async def test_redelivered_event_is_handled_once(pipeline):
    settings = pipeline.settings
    client, job = new_id("c"), new_id("j")
    input_key, expected_key = f"{client}/{job}/input.csv", f"{client}/{job}/expected.csv"
    await put_objects(settings, {input_key: b"a,b\n1,2\n3,4\n", expected_key: b"b,a\n2,1\n4,3\n"})
    submitted = JobSubmitted(job_id=job, client_id=client, input_key=input_key, expected_key=expected_key)
    async with EventLog(settings, Topics.ALL) as log:
        await publish(settings, submitted, submitted)  # the same event_id twice: a redelivery
        await log.wait_for(job_done(job), timeout=120, what="end of the job")
        await log.poll(2.0)
        profiled = log.of_job(job, Topics.JOB_PROFILED)
        assert len(profiled) == 1
        assert len(log.of_job(job, Topics.JOB_PLANNED)) == 1
        assert [e.type for e in log.of_job(job) if e.type in (Topics.JOB_SUCCEEDED, Topics.JOB_FAILED)] == [
            Topics.JOB_SUCCEEDED]


async def test_poison_messages_go_to_the_dlq_and_the_consumer_goes_on(pipeline):
    from aiokafka import AIOKafkaProducer

    settings = pipeline.settings
    client, missing_job, good_job = new_id("c"), new_id("j"), new_id("j")
    good = f"{client}/{good_job}"
    await put_objects(settings, {f"{good}/input.csv": b"a,b\n1,2\n", f"{good}/expected.csv": b"b,a\n2,1\n"})
    missing = JobSubmitted(job_id=missing_job, client_id=client, input_key=f"{client}/{missing_job}/nothing.csv",
                           expected_key=f"{client}/{missing_job}/nothing-either.csv")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(Topics.JOB_SUBMITTED, value=b"\x00 not an event", key=missing_job.encode())
    finally:
        await producer.stop()
    async with EventLog(settings, [*Topics.ALL, Topics.dlq(Topics.JOB_SUBMITTED)]) as log:
        await publish(settings, missing, JobSubmitted(job_id=good_job, client_id=client,
                                                      input_key=f"{good}/input.csv",
                                                      expected_key=f"{good}/expected.csv"))
        failed = await log.wait_for(job_done(missing_job), timeout=120, what="failure of the job without input")
        assert failed.type == Topics.JOB_FAILED and failed.stage == "profiler"
        assert "NoSuchKey" in failed.reason or "Not Found" in failed.reason or "404" in failed.reason, failed
        assert (await log.wait_for(job_done(good_job), timeout=120, what="the next job")).type == Topics.JOB_SUCCEEDED
        # (the projector, also reading job.submitted, dead-letters the garbage in its own format)
        dead = [payload for topic, payload in log.raw
                if topic == Topics.dlq(Topics.JOB_SUBMITTED) and payload.get("consumer") == "profiler"]
        assert any("undecodable" in d["error"] and "not an event" in d.get("raw", "") for d in dead), dead
        assert any(d.get("event", {}).get("job_id") == missing_job and "NoSuchKey" in d["error"] for d in dead)


UPPER_SCRIPT = '''import csv, sys
with open(sys.argv[1], newline="") as f_in, open(sys.argv[2], "w", newline="") as f_out:
    out = csv.writer(f_out, lineterminator="\\n")
    for row in csv.reader(f_in):
        out.writerow([cell.upper() for cell in row])
'''


async def test_inference_streams_a_big_file_and_reports_missing_scripts(pipeline):
    from recast_common.events import InferenceRequested

    settings = pipeline.settings
    client, job = new_id("c"), new_id("j")
    rows = 400_000  # ~20 MB: above the multipart threshold of the upload
    big = "".join(f"row{i},value {i % 97},some text\n" for i in range(rows)).encode()
    script_key, input_key = f"{client}/{job}/attempt-1/script.py", f"{client}/{job}/runs/r1/input.csv"
    await put_objects(settings, {script_key: UPPER_SCRIPT.encode(), input_key: big})
    ok = InferenceRequested(job_id=job, client_id=client, run_id="r1", input_key=input_key,
                            output_key=f"{client}/{job}/runs/r1/output.csv", script_key=script_key)
    missing = InferenceRequested(job_id=job, client_id=client, run_id="r2", input_key=input_key,
                                 output_key=f"{client}/{job}/runs/r2/output.csv",
                                 script_key=f"{client}/{job}/attempt-9/script.py")
    async with EventLog(settings, [Topics.INFERENCE_COMPLETED, Topics.INFERENCE_FAILED]) as log:
        await publish(settings, ok, missing)
        completed = await log.wait_for(lambda e: getattr(e, "run_id", None) == "r1" and e.job_id == job,
                                       timeout=180, what="inference r1")
        failed = await log.wait_for(lambda e: getattr(e, "run_id", None) == "r2" and e.job_id == job,
                                    timeout=60, what="inference r2")
    assert completed.type == Topics.INFERENCE_COMPLETED, completed
    assert completed.metrics["input_bytes"] == len(big) and completed.metrics["output_bytes"] == len(big)
    output = await get_object(settings, completed.output_key)
    assert output == big.upper()
    assert failed.type == Topics.INFERENCE_FAILED and "does not exist" in failed.reason
