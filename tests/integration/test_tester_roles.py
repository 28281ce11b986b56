"""The tester's two message loops: inference.requested (group `tester-inference`) is handled while the train
loop (group `tester`) is busy with a long sandbox run, and `python -m tester --role ...` runs one loop only,
each group showing up in the gateway's /queue/status."""
from __future__ import annotations

import asyncio
import time

import httpx
from recast_common.events import InferenceRequested, JobCoded, Topics
from test_pipeline_kit import API, EventLog, get_object, job_done, new_id, publish, put_objects

SLOW_SECONDS = 40  # how long the train script sleeps: the train loop is busy all that time
TRAIN_INPUT = b"a,b\n1,2\n3,4\n"
SLOW_COPY = f"import shutil, sys, time\ntime.sleep({SLOW_SECONDS})\nshutil.copyfile(sys.argv[1], sys.argv[2])\n"
COPY = "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n"
UPPER = ("import sys\nwith open(sys.argv[1]) as f_in, open(sys.argv[2], 'w') as f_out:\n"
         "    f_out.write(f_in.read().upper())\n")
TESTER_ENV = {"RECAST_SANDBOX_TIMEOUT_SECONDS": str(SLOW_SECONDS * 3)}


async def train_attempt(settings, client: str, script: str) -> JobCoded:
    """A last attempt (so its verdict ends the job) of a job whose expected output is its input."""
    job, attempt = new_id("j"), settings.max_attempts
    prefix = f"{client}/{job}"
    keys = {"input_key": f"{prefix}/input.csv", "expected_key": f"{prefix}/expected.csv",
            "script_key": f"{prefix}/attempt-{attempt}/script.py"}
    await put_objects(settings, {keys["input_key"]: TRAIN_INPUT, keys["expected_key"]: TRAIN_INPUT,
                                 keys["script_key"]: script.encode()})
    return JobCoded(job_id=job, client_id=client, attempt=attempt, **keys)


async def inference_request(settings, client: str, data: bytes) -> InferenceRequested:
    job, run = new_id("j"), new_id("r")
    prefix = f"{client}/{job}"
    script_key, input_key = f"{prefix}/attempt-1/script.py", f"{prefix}/runs/{run}/input.csv"
    await put_objects(settings, {script_key: UPPER.encode(), input_key: data})
    return InferenceRequested(job_id=job, client_id=client, run_id=run, input_key=input_key,
                              output_key=f"{prefix}/runs/{run}/output.csv", script_key=script_key)


def of_run(request: InferenceRequested):
    return lambda e: e.job_id == request.job_id and getattr(e, "run_id", None) == request.run_id


async def test_inference_completes_while_the_train_loop_runs_a_long_script(stack, spawn):
    settings = stack.settings
    tester = spawn("tester", extra_env={**TESTER_ENV, "RECAST_REPLICA_ID": "tester-both"})
    client = new_id("c")
    slow = await train_attempt(settings, client, SLOW_COPY)
    request = await inference_request(settings, client, b"x,y\nab,cd\n")
    topics = [Topics.JOB_PROGRESS, Topics.JOB_SUCCEEDED, Topics.JOB_FAILED, Topics.INFERENCE_COMPLETED,
              Topics.INFERENCE_FAILED]
    async with EventLog(settings, topics) as log:
        await publish(settings, slow)
        await log.wait_for(lambda e: e.job_id == slow.job_id and e.type == Topics.JOB_PROGRESS
                           and e.stage == "testing", timeout=120, what="the slow script's run starting")
        started = time.monotonic()
        await publish(settings, request)
        done = await log.wait_for(of_run(request), timeout=SLOW_SECONDS * 2, what="the inference run")
        waited = time.monotonic() - started
        assert done.type == Topics.INFERENCE_COMPLETED, done
        assert not log.of_job(slow.job_id, Topics.JOB_SUCCEEDED) + log.of_job(slow.job_id, Topics.JOB_FAILED)
        assert waited < SLOW_SECONDS - 5, f"the inference waited {waited:.0f}s, as long as the train run"
        assert await get_object(settings, request.output_key) == b"X,Y\nAB,CD\n"

        verdict = await log.wait_for(job_done(slow.job_id), timeout=SLOW_SECONDS * 3, what="the slow attempt")
    assert verdict.type == Topics.JOB_SUCCEEDED, verdict
    run = verdict.verdict.run
    assert run is not None and run.wall_seconds >= SLOW_SECONDS - 1  # the train loop really was busy all along
    assert tester.stop(timeout=30) == 0, tester.tail()  # SIGTERM stops both loops cleanly


def consumer_groups(url: str, admin_key: str) -> dict:
    response = httpx.get(f"{url}{API}/queue/status", headers={"X-API-KEY": admin_key}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert body.get("broker_error") is None, body
    return body["consumer_groups"]


async def wait_groups(url: str, admin_key: str, ready, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        groups = await asyncio.to_thread(consumer_groups, url, admin_key)
        if ready(groups) or time.monotonic() > deadline:
            return groups
        await asyncio.sleep(1)


async def test_each_role_runs_alone_and_queue_status_reports_both_groups(stack, spawn, spawn_gateway):
    settings, admin_key = stack.settings, stack.settings.admin_api_key
    gateway = spawn_gateway()
    spawn("tester", extra_env={**TESTER_ENV, "RECAST_REPLICA_ID": "tester-inference-only"},
          args=["--role", "inference"])
    client = new_id("c")
    coded = await train_attempt(settings, client, COPY)
    request = await inference_request(settings, client, b"q\nr\n")
    async with EventLog(settings, [Topics.JOB_SUCCEEDED, Topics.JOB_FAILED, Topics.INFERENCE_COMPLETED,
                                   Topics.INFERENCE_FAILED]) as log:
        await publish(settings, coded, request)
        done = await log.wait_for(of_run(request), timeout=120, what="the inference run")
        assert done.type == Topics.INFERENCE_COMPLETED, done

        # only the inference loop runs: job.coded waits in group `tester`, which has no member
        groups = await wait_groups(gateway.url, admin_key,
                                   lambda g: g["tester-inference"]["lag"] == 0 and g["tester"]["lag"] >= 1)
        inference, train = groups["tester-inference"], groups["tester"]
        assert inference["topics"] == {Topics.INFERENCE_REQUESTED: 0, Topics.INFERENCE_CHUNK_REQUESTED: 0}, inference
        assert set(train["topics"]) == {Topics.JOB_CODED} and train["lag"] >= 1, train
        if inference["members"] is not None:  # the broker may not describe groups
            assert inference["members"] >= 1, groups
        await log.poll(3.0)
        assert not log.of_job(coded.job_id, Topics.JOB_SUCCEEDED) + log.of_job(coded.job_id, Topics.JOB_FAILED)

        spawn("tester", extra_env={**TESTER_ENV, "RECAST_REPLICA_ID": "tester-train-only"}, args=["--role", "train"])
        verdict = await log.wait_for(job_done(coded.job_id), timeout=120, what="the train attempt")
    assert verdict.type == Topics.JOB_SUCCEEDED, verdict
    groups = await wait_groups(gateway.url, admin_key, lambda g: g["tester"]["lag"] == 0)
    assert groups["tester"]["lag"] == 0, groups
    if groups["tester"]["members"] is not None:
        assert groups["tester"]["members"] >= 1 and groups["tester-inference"]["members"] >= 1, groups
