"""The LLM path's shared setup: a pair the by-example search cannot explain (how often each name still comes,
counting down), the script that converts it, and one job run through the real services with the OpenAI-compatible
stub (a real HTTP server in a subprocess) answering for the LLM."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from recast_common.events import Event, JobSubmitted, Topics
from recast_common.stage_files import instructions_key
from test_pipeline_kit import EventLog, job_done, new_id, publish, put_objects

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_stub.process import llm_stub  # noqa: E402

NAMES = ["ada", "alan", "ada", "grace", "alan", "ada", "edsger"]
_COUNT_SCRIPT = '''"""How many times each name still comes, this row included."""
import csv
import sys


def main(source, target):
    with open(source, newline="", encoding="utf-8") as f_in, open(target, "w", newline="", encoding="utf-8") as f_out:
        rows = list(csv.reader(f_in))
        out = csv.writer(f_out, lineterminator="\\n")
        out.writerow(rows[0] + ["@COLUMN@"])
        names = [row[0] for row in rows[1:]]
        for k, row in enumerate(rows[1:]):
            out.writerow(row + [str(names[k:].count(row[0]))])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
'''


def counting_script(column: str) -> str:
    """The script that adds `column`: how many times the row's name still comes, this row included."""
    return _COUNT_SCRIPT.replace("@COLUMN@", column)


def counting_pair(column: str) -> tuple[bytes, bytes]:
    source = "name\n" + "".join(f"{n}\n" for n in NAMES)
    expected = f"name,{column}\n" + "".join(f"{n},{NAMES[k:].count(n)}\n" for k, n in enumerate(NAMES))
    return source.encode(), expected.encode()


def prompts_sent(requests_log: Path) -> list[dict]:
    return [json.loads(line) for line in requests_log.read_text().splitlines()]


async def run_llm_job(stack, spawn, scripts: list[Path], requests_log: Path, tag: str, column: str = "seq",
                      instructions: dict | None = None) -> tuple[Event, list[Event], list[Event]]:
    """Runs one job for the counting pair (adding `column`) through the real services with the stub answering
    `scripts` in turn; returns the terminal event and the job's planned and feedback events."""
    settings = stack.settings
    with llm_stub(scripts, requests_log) as base_url:
        llm_env = {"RECAST_LLM_BASE_URL": base_url, "RECAST_LLM_API_KEY": "test", "RECAST_LLM_MODEL": "stub",
                   "RECAST_SEARCH_TIMEOUT_SECONDS": "3"}
        for name in ("profiler", "planner", "coder", "tester"):
            spawn(name, extra_env={**llm_env, "RECAST_REPLICA_ID": f"{name}-{tag}"})
        client, job = new_id("c"), new_id("j")
        input_csv, expected_csv = counting_pair(column)
        input_key, expected_key = f"{client}/{job}/input.csv", f"{client}/{job}/expected.csv"
        objects = {input_key: input_csv, expected_key: expected_csv}
        if instructions is not None:
            objects[instructions_key(input_key)] = json.dumps(instructions).encode()
        await put_objects(settings, objects)
        async with EventLog(settings, Topics.ALL) as log:
            await publish(settings, JobSubmitted(job_id=job, client_id=client, input_key=input_key,
                                                 expected_key=expected_key))
            done = await log.wait_for(job_done(job), timeout=180, what="end of the job")
            return done, log.of_job(job, Topics.JOB_PLANNED), log.of_job(job, Topics.JOB_FEEDBACK)
