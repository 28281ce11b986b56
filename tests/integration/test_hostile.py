"""Hostile scripts through the real tester service: job.coded events published directly on Kafka point at
scripts in S3. Each script writes the expected output only when it escaped its containment, so a script that
"passes" is a sandbox hole. Every one must end as a failed attempt with a reason, and the tester must go on to
handle the next job (a well-behaved script published last succeeds)."""
from __future__ import annotations

import os
import uuid

import pytest
from recast_common.events import JobCoded, Topics
from test_pipeline_kit import EventLog, job_done, new_id, publish, put_objects

pytest.importorskip("recast_engine.verify.sandbox", reason="no sandbox: hostile scripts would run free")

SANDBOX_TIMEOUT = 5
TRAIN_INPUT = b"x\n1\n"
ESCAPED = b"escaped\nyes\n"  # the expected output: only an escaped script writes it

WRITE_ESCAPED = "open(sys.argv[2], 'w').write('escaped\\nyes\\n')"

HOSTILE = {
    "socket": """
import socket, sys
host, port = {bootstrap!r}.split(':')
try:
    socket.create_connection((host, int(port)), timeout=3).close()
except OSError:
    sys.exit(3)
{write}
""",
    "fork_bomb": """
import os, sys
children = 0
try:
    for _ in range(100000):
        if os.fork() == 0:
            import time; time.sleep(60); os._exit(0)
        children += 1
except OSError:
    sys.exit(4)
{write}
""",
    "memory_bomb": """
import sys
hog = bytearray(16 * 1024 ** 3)
hog[::4096] = b'x' * len(hog[::4096])
{write}
""",
    "infinite_loop": """
import sys
while True:
    pass
""",
    "write_outside": """
import sys
try:
    with open({outside!r}, 'w') as f:
        f.write('escaped')
except OSError:
    sys.exit(5)
{write}
""",
    "read_env": """
import os, sys
leaked = [k for k in os.environ if k.startswith('RECAST_') or 'SECRET' in k or k.startswith('AWS_')]
if not leaked:
    sys.exit(6)
{write}
""",
    "print_10gb": """
import sys
chunk = 'x' * (1 << 20)
for _ in range(10 * 1024):
    sys.stdout.write(chunk)
{write}
""",
    "segfault": """
import ctypes, sys
ctypes.string_at(0)
{write}
""",
}

BENIGN = "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n"


async def test_hostile_scripts_fail_and_the_tester_goes_on(stack, spawn):
    settings = stack.settings
    tester = spawn("tester", extra_env={"RECAST_SANDBOX_TIMEOUT_SECONDS": str(SANDBOX_TIMEOUT),
                                        "RECAST_SANDBOX_MEMORY_MB": "512", "RECAST_REPLICA_ID": "tester-hostile"})
    client = new_id("c")
    outside = f"/tmp/recast-escape-{uuid.uuid4().hex}"
    final_attempt = settings.max_attempts  # a failed last attempt ends the job: no feedback to plan from
    objects: dict[str, bytes] = {}
    events: list[JobCoded] = []
    jobs: dict[str, str] = {}
    for name, template in [*HOSTILE.items(), ("benign", BENIGN)]:
        job = new_id("j")
        jobs[name] = job
        prefix = f"{client}/{job}"
        script = template.format(bootstrap=settings.kafka_bootstrap, outside=outside, write=WRITE_ESCAPED)
        expected = TRAIN_INPUT if name == "benign" else ESCAPED
        objects |= {f"{prefix}/input.csv": TRAIN_INPUT, f"{prefix}/expected.csv": expected,
                    f"{prefix}/attempt-{final_attempt}/script.py": script.encode()}
        events.append(JobCoded(job_id=job, client_id=client, attempt=final_attempt,
                               input_key=f"{prefix}/input.csv", expected_key=f"{prefix}/expected.csv",
                               script_key=f"{prefix}/attempt-{final_attempt}/script.py"))
    await put_objects(settings, objects)

    async with EventLog(settings, [Topics.JOB_SUCCEEDED, Topics.JOB_FAILED, Topics.JOB_FEEDBACK]) as log:
        await publish(settings, *events)
        outcomes = {}
        for name, job in jobs.items():
            outcomes[name] = await log.wait_for(job_done(job), timeout=180, what=f"verdict on {name}")

    for name, outcome in outcomes.items():
        print(f"{name}: {outcome.type} {getattr(outcome, 'reason', '')}")
    assert outcomes["benign"].type == Topics.JOB_SUCCEEDED, outcomes["benign"]
    for name in HOSTILE:
        outcome = outcomes[name]
        assert outcome.type == Topics.JOB_FAILED, f"{name} escaped: {outcome}"
        assert outcome.reason and outcome.verdict and outcome.verdict.passed is False
    assert "time" in str(outcomes["infinite_loop"].verdict).lower()
    assert not os.path.exists(outside)
    assert tester.running
