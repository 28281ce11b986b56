"""The LLM path through the real services: the search cannot explain the pair (how often each name still comes), the
planner asks the OpenAI-compatible stub (a real HTTP server in a subprocess), and the stub's script is coded,
tested and accepted like any other candidate."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from recast_common.events import JobSubmitted, Topics
from test_pipeline_kit import EventLog, get_object, job_done, new_id, publish, put_objects

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_stub.process import llm_stub

NAMES = ["ada", "alan", "ada", "grace", "alan", "ada", "edsger"]
COUNT_SCRIPT = '''"""How many times each name still comes, this row included."""
import csv
import sys


def main(source, target):
    with open(source, newline="", encoding="utf-8") as f_in, open(target, "w", newline="", encoding="utf-8") as f_out:
        rows = list(csv.reader(f_in))
        out = csv.writer(f_out, lineterminator="\\n")
        out.writerow(rows[0] + ["seq"])
        names = [row[0] for row in rows[1:]]
        for k, row in enumerate(rows[1:]):
            out.writerow(row + [str(names[k:].count(row[0]))])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
'''


def counting_pair() -> tuple[bytes, bytes]:
    source = "name\n" + "".join(f"{n}\n" for n in NAMES)
    expected = "name,seq\n" + "".join(f"{n},{NAMES[i:].count(n)}\n" for i, n in enumerate(NAMES))
    return source.encode(), expected.encode()


async def run_llm_job(stack, spawn, scripts: list[Path], requests_log: Path, tag: str):
    """Runs one job for the counting pair through the real services with the stub answering `scripts` in turn;
    returns the terminal event and the job's planned and feedback events."""
    settings = stack.settings
    with llm_stub(scripts, requests_log) as base_url:
        llm_env = {"RECAST_LLM_BASE_URL": base_url, "RECAST_LLM_API_KEY": "test", "RECAST_LLM_MODEL": "stub",
                   "RECAST_SEARCH_TIMEOUT_SECONDS": "3"}
        for name in ("profiler", "planner", "coder", "tester"):
            spawn(name, extra_env={**llm_env, "RECAST_REPLICA_ID": f"{name}-{tag}"})
        client, job = new_id("c"), new_id("j")
        input_csv, expected_csv = counting_pair()
        input_key, expected_key = f"{client}/{job}/input.csv", f"{client}/{job}/expected.csv"
        await put_objects(settings, {input_key: input_csv, expected_key: expected_csv})
        async with EventLog(settings, Topics.ALL) as log:
            await publish(settings, JobSubmitted(job_id=job, client_id=client, input_key=input_key,
                                                 expected_key=expected_key))
            done = await log.wait_for(job_done(job), timeout=180, what="end of the job")
            return done, log.of_job(job, Topics.JOB_PLANNED), log.of_job(job, Topics.JOB_FEEDBACK)


def prompts_sent(requests_log: Path) -> list[dict]:
    return [json.loads(line) for line in requests_log.read_text().splitlines()]


async def test_llm_script_is_planned_coded_and_accepted(stack, spawn, tmp_path):
    script_file = tmp_path / "canned.py"
    script_file.write_text(COUNT_SCRIPT)
    requests_log = tmp_path / "requests.jsonl"
    done, planned, _ = await run_llm_job(stack, spawn, [script_file], requests_log, "llm")
    assert done.type == Topics.JOB_SUCCEEDED, done
    assert [p.source for p in planned] == ["llm"] and planned[0].llm_script.strip() == COUNT_SCRIPT.strip()
    stored = (await get_object(stack.settings, done.script_key)).decode()
    assert stored.strip() == COUNT_SCRIPT.strip()
    prompts = prompts_sent(requests_log)
    assert len(prompts) == 1
    assert "name,seq\nada,3\nalan,2\nada,2" in prompts[0]["messages"][-1]["content"]


async def test_llm_repairs_a_failed_script_after_seeing_the_diff(stack, spawn, tmp_path):
    """First candidate fails on the train rows (counts from 0), the tester's diff goes back to the planner, the
    second candidate passes: the job succeeds on attempt 2 and both attempts are recorded."""
    wrong, right = tmp_path / "wrong.py", tmp_path / "right.py"
    wrong.write_text(COUNT_SCRIPT.replace("str(names[k:].count(row[0]))", "str(names[k:].count(row[0]) - 1)"))
    right.write_text(COUNT_SCRIPT)
    requests_log = tmp_path / "requests.jsonl"
    done, planned, feedback = await run_llm_job(stack, spawn, [wrong, right], requests_log, "repair")
    assert done.type == Topics.JOB_SUCCEEDED and done.attempt == 2, done
    assert [p.attempt for p in planned] == [1, 2]
    assert len(feedback) == 1 and not feedback[0].verdict.passed
    prompts = prompts_sent(requests_log)
    assert len(prompts) == 2
    assert "previous script failed" in prompts[1]["messages"][-1]["content"]
