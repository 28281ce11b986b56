"""The LLM path gets the job's instructions: the search cannot explain the pair (how often each name
still comes, counting down), the
instruction reader cannot read the sentence that says what to do, and both go to the OpenAI-compatible stub (a
real HTTP server in a subprocess) in the planner's prompt; the stub's script is tested and accepted."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from recast_common.events import JobSubmitted, Topics
from recast_common.stage_files import instructions_key
from test_llm import prompts_sent
from test_pipeline_kit import EventLog, job_done, new_id, publish, put_objects

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_stub.process import llm_stub

NAMES = ["ada", "alan", "ada", "grace", "alan", "ada", "edsger"]
REMAINING_SCRIPT = '''"""How many times each name still comes, this row included."""
import csv
import sys


def main(source, target):
    with open(source, newline="", encoding="utf-8") as f_in, open(target, "w", newline="", encoding="utf-8") as f_out:
        rows = list(csv.reader(f_in))
        out = csv.writer(f_out, lineterminator="\\n")
        out.writerow(rows[0] + ["left"])
        names = [row[0] for row in rows[1:]]
        for k, row in enumerate(rows[1:]):
            out.writerow(row + [str(names[k:].count(row[0]))])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
'''
INSTRUCTIONS = {
    "general_instructions": "Count down the occurrences of each name",
    "column_instructions": {"name": "", "left": "how many times the name still comes"},
}


def remaining_pair() -> tuple[bytes, bytes]:
    source = "name\n" + "".join(f"{n}\n" for n in NAMES)
    expected = "name,left\n" + "".join(f"{n},{NAMES[k:].count(n)}\n" for k, n in enumerate(NAMES))
    return source.encode(), expected.encode()


async def test_the_llm_prompt_carries_the_instructions_and_what_the_search_left(stack, spawn, tmp_path):
    settings = stack.settings
    script_file, requests_log = tmp_path / "count.py", tmp_path / "requests.jsonl"
    script_file.write_text(REMAINING_SCRIPT)
    with llm_stub(script_file, requests_log) as base_url:
        llm_env = {"RECAST_LLM_BASE_URL": base_url, "RECAST_LLM_API_KEY": "test", "RECAST_LLM_MODEL": "stub",
                   "RECAST_SEARCH_TIMEOUT_SECONDS": "3"}
        for name in ("profiler", "planner", "coder", "tester"):
            spawn(name, extra_env={**llm_env, "RECAST_REPLICA_ID": f"{name}-instructed-llm"})
        client, job = new_id("c"), new_id("j")
        input_csv, expected_csv = remaining_pair()
        input_key, expected_key = f"{client}/{job}/input.csv", f"{client}/{job}/expected.csv"
        await put_objects(settings, {input_key: input_csv, expected_key: expected_csv,
                                     instructions_key(input_key): json.dumps(INSTRUCTIONS).encode()})
        async with EventLog(settings, Topics.ALL) as log:
            await publish(settings, JobSubmitted(job_id=job, client_id=client, input_key=input_key,
                                                 expected_key=expected_key))
            done = await log.wait_for(job_done(job), timeout=180, what="end of the job")
            planned = log.of_job(job, Topics.JOB_PLANNED)
    assert done.type == Topics.JOB_SUCCEEDED, done
    assert [p.source for p in planned] == ["llm"]
    report = planned[0].instruction_report
    assert report["not_understood"] == ["Count down the occurrences of each name",
                                        "left: 'how many times the name still comes'"]
    (prompt,) = [p["messages"][-1]["content"] for p in prompts_sent(requests_log)]
    assert "General: Count down the occurrences of each name" in prompt
    assert "Column 'left': how many times the name still comes" in prompt
    assert "Column 'name': SAME AS INPUT" in prompt
    assert "could not read" in prompt and "left unexplained" in prompt
