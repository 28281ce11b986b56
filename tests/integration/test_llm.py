"""The LLM path through the real services: the search cannot explain the pair (how often each name still comes), the
planner asks the OpenAI-compatible stub (a real HTTP server in a subprocess), and the stub's script is coded,
tested and accepted like any other candidate."""
from __future__ import annotations

from llm_kit import counting_script, prompts_sent, run_llm_job
from recast_common.events import Topics
from test_pipeline_kit import get_object

COUNT_SCRIPT = counting_script("seq")


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
