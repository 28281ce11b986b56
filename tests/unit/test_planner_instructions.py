"""The planner hands the job's instructions to the search and to the LLM prompt; the job records the report."""
from __future__ import annotations

from gateway.core.projection import JobView, project
from planner.llm import build_messages
from planner.plan import search_candidates
from recast_common.events import JobFailed, JobPlanned
from recast_engine.dsl import Program
from recast_engine.dsl.interpret import run


def test_search_candidates_follows_the_instructions_and_reports_what_it_read():
    document = {"general_instructions": "Make it pretty", "column_instructions": {"code": "uppercase", "id": None}}
    outcome = search_candidates(b"id,code\n1,AB\n2,CD\n", b"id,code\n1,AB\n2,CD\n", "auto", 5, [],
                                instructions=document)
    program = Program.model_validate(outcome.programs[0])
    assert run(program, [["id", "code"], ["3", "xy"]]) == [["id", "code"], ["3", "XY"]]
    assert outcome.instruction_report == {
        "understood": ["code: upper case", "id: same as input"],
        "not_understood": ["Make it pretty"],
        "contradictions": [],
        "built_from_instructions": False,
    }


def test_a_job_without_instructions_has_no_report():
    outcome = search_candidates(b"a,b\n1,2\n", b"b,a\n2,1\n", "auto", 5, [])
    assert outcome.programs and outcome.instruction_report is None


def test_the_llm_prompt_carries_the_instructions_what_was_not_read_and_what_the_search_left():
    messages = build_messages(
        {"input_rows": 2}, "a\n1", "a,seq\n1,1", None,
        instructions={"general_instructions": "Number each name", "column_instructions": {"a": "", "seq": "count"}},
        unexplained=["column seq: no expression fits"], not_understood=["Number each name"],
    )
    prompt = messages[-1]["content"]
    assert "General: Number each name" in prompt and "Column 'a': SAME AS INPUT" in prompt
    assert "could not read" in prompt and "- Number each name" in prompt
    assert "left unexplained" in prompt and "- column seq: no expression fits" in prompt


def test_the_instruction_report_of_a_plan_or_a_failure_is_projected_onto_the_job():
    report = {"understood": [], "not_understood": ["x"], "contradictions": ["row 2"], "built_from_instructions": False}
    planned = JobPlanned(job_id="j", client_id="c", input_key="i", expected_key="e", instruction_report=report)
    assert project(JobView("planning", 1), planned).job["instructions"] == report
    failed = JobFailed(job_id="j", client_id="c", reason="no program", instruction_report=report)
    assert project(JobView("planning", 1), failed).job["instructions"] == report
    # events of one job come over several topics: a plan projected after the job moved on still leaves its report
    assert project(JobView("testing", 1), planned).job == {"instructions": report}
    assert project(JobView("succeeded", 1), planned).job == {"instructions": report}
    plain = JobPlanned(job_id="j", client_id="c", input_key="i", expected_key="e")
    assert "instructions" not in project(JobView("planning", 1), plain).job


ORDERS = b"id,total\n1,92.40\n2,104.99\n3,250.00\n4,72.10\n5,130.00\n6,100\n"  # 100 itself is kept
KEPT = b"id,total\n2,104.99\n3,250.00\n5,130.00\n6,100\n"


def test_search_candidates_passes_the_stored_hints_to_the_search_and_a_hinted_threshold_is_trusted():
    plain = search_candidates(ORDERS, KEPT, "yes", 10, [])
    assert plain.trust is not None and plain.trust["confidence"] == "ambiguous"
    document = {"general_instructions": None, "column_instructions": None, "built_from_instructions": False,
                "hints": {"constants": ["100"], "aggregations": []}}
    hinted = search_candidates(ORDERS, KEPT, "yes", 10, [], instructions=document)
    assert hinted.trust is not None and hinted.trust["confidence"] == "trusted"
    assert hinted.instruction_report is None  # hints alone are no instructions to report on
    program = Program.model_validate(hinted.programs[0])
    assert run(program, [["id", "total"], ["6", "99.99"], ["7", "100"]]) == [["id", "total"], ["7", "100"]]


def test_the_gateway_reads_a_train_requests_hints_with_the_engine_and_refuses_an_unknown_aggregation():
    import pytest
    from fastapi import HTTPException
    from gateway.api.routes.train import read_hints
    from recast_common.api import TrainRequest

    body = TrainRequest(input_file="a\n1\n", hints={"constants": ["100"], "aggregations": ["avg"]})
    hints = read_hints(body.hints.model_dump())
    assert hints is not None and hints.constants == ["100"] and hints.aggregations == ["mean"]
    assert read_hints('{"constants": ["2013-02-01"]}').constants == ["2013-02-01"]  # the multipart form's text
    assert read_hints(None) is None
    with pytest.raises(HTTPException) as refused:
        read_hints({"aggregations": ["median"]})
    assert refused.value.status_code == 422 and "unknown aggregation 'median'" in refused.value.detail
    with pytest.raises(HTTPException):
        read_hints("not json")
