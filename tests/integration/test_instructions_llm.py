"""The LLM path gets the job's instructions: the search cannot explain the pair (how often each name still comes,
counting down), the instruction reader cannot read the sentence that says what to do, and both go to the
OpenAI-compatible stub (a real HTTP server in a subprocess) in the planner's prompt; the stub's script is tested
and accepted."""
from __future__ import annotations

from llm_kit import counting_script, prompts_sent, run_llm_job
from recast_common.events import Topics

INSTRUCTIONS = {
    "general_instructions": "Count down the occurrences of each name",
    "column_instructions": {"name": "", "left": "how many times the name still comes"},
}


async def test_the_llm_prompt_carries_the_instructions_and_what_the_search_left(stack, spawn, tmp_path):
    script_file, requests_log = tmp_path / "count.py", tmp_path / "requests.jsonl"
    script_file.write_text(counting_script("left"))
    done, planned, _ = await run_llm_job(stack, spawn, [script_file], requests_log, "instructed-llm", column="left",
                                         instructions=INSTRUCTIONS)
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
