"""The LLM path gets the job's instructions: the search cannot explain the pair (a running count per name), the
instruction reader cannot read the sentence that says what to do, and both go to the OpenAI-compatible stub (a
real HTTP server in a subprocess) in the planner's prompt; the stub's script is tested and accepted."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from recast_common.events import JobSubmitted, Topics
from recast_common.stage_files import instructions_key
from test_llm import COUNT_SCRIPT, counting_pair, prompts_sent
from test_pipeline_kit import EventLog, job_done, new_id, publish, put_objects

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_stub.process import llm_stub

INSTRUCTIONS = {
    "general_instructions": "Number the occurrences of each name, starting at 1",
    "column_instructions": {"name": "", "seq": "the running count of that name"},
}


async def test_the_llm_prompt_carries_the_instructions_and_what_the_search_left(stack, spawn, tmp_path):
    settings = stack.settings
    script_file, requests_log = tmp_path / "count.py", tmp_path / "requests.jsonl"
    script_file.write_text(COUNT_SCRIPT)
    with llm_stub(script_file, requests_log) as base_url:
        llm_env = {"RECAST_LLM_BASE_URL": base_url, "RECAST_LLM_API_KEY": "test", "RECAST_LLM_MODEL": "stub",
                   "RECAST_SEARCH_TIMEOUT_SECONDS": "3"}
        for name in ("profiler", "planner", "coder", "tester"):
            spawn(name, extra_env={**llm_env, "RECAST_REPLICA_ID": f"{name}-instructed-llm"})
        client, job = new_id("c"), new_id("j")
        input_csv, expected_csv = counting_pair()
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
    assert report["not_understood"] == ["Number the occurrences of each name, starting at 1",
                                        "seq: 'the running count of that name'"]
    (prompt,) = [p["messages"][-1]["content"] for p in prompts_sent(requests_log)]
    assert "General: Number the occurrences of each name, starting at 1" in prompt
    assert "Column 'seq': the running count of that name" in prompt and "Column 'name': SAME AS INPUT" in prompt
    assert "could not read" in prompt and "left unexplained" in prompt
