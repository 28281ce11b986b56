"""Events carry the engine's Verdict model; job.feedback / job.failed events written before it (dict verdicts with
the run's figures and the failure reason at the top level) still parse."""
from __future__ import annotations

import json

from recast_common.events import JobFailed, JobFeedback, parse_event
from recast_engine.verify.verdict import Verdict, compare

OLDER_COMPARED = {  # what the tester wrote before the model: compare(...).to_dict() plus the run's figures
    "passed": False, "score": 0.75, "summary": "column 'b' differs in 1/2 rows", "header": False,
    "expected_rows": 2, "actual_rows": 2, "columns": [{"index": 1, "name": None, "mismatches": 1, "examples": [
        {"row": 2, "expected": "x", "got": "y"}], "actual_index": 1}],
    "rows": {"missing": 0, "extra": 0}, "error": None, "run": None,
    "wall_seconds": 0.42, "peak_rss_mb": 31.5, "attempt": 1,
}
OLDER_RUN_FAILED = {  # run_failed(run).to_dict() | {"reason": run.reason}
    "passed": False, "score": 0.0, "summary": "the script failed: timeout after 30s", "error": "timeout after 30s",
    "run": {"ok": False, "reason": "timeout after 30s", "returncode": None, "error": "", "stderr_tail": "",
            "wall_seconds": 30.0, "peak_rss_mb": 12.0, "output_bytes": 0, "isolation": ["netns"]},
    "reason": "timeout after 30s", "attempt": 2,
}
COMMON = {"job_id": "j1", "client_id": "c1", "input_key": "i", "expected_key": "e"}


def test_a_feedback_event_written_before_the_model_parses_with_its_figures_kept() -> None:
    event = parse_event(json.dumps({"type": "job.feedback", **COMMON, "verdict": OLDER_COMPARED}))
    assert isinstance(event, JobFeedback) and isinstance(event.verdict, Verdict)
    verdict = event.verdict
    assert (verdict.passed, verdict.score, verdict.attempt) == (False, 0.75, 1)
    assert verdict.columns[0].examples[0].got == "y"
    assert verdict.run is not None and (verdict.run.wall_seconds, verdict.run.peak_rss_mb) == (0.42, 31.5)


def test_a_failed_event_written_before_the_model_keeps_the_run_and_its_reason() -> None:
    event = parse_event({"type": "job.failed", "job_id": "j1", "client_id": "c1", "reason": "none left",
                         "verdict": OLDER_RUN_FAILED, "attempt_verdict": OLDER_RUN_FAILED})
    assert isinstance(event, JobFailed) and event.verdict is not None
    assert event.verdict.error == "timeout after 30s" and event.verdict.attempt == 2
    assert event.verdict.run is not None and event.verdict.run.isolation == ["netns"]


def test_a_verdict_travels_through_an_event_unchanged() -> None:
    verdict = compare([["a", "b"], ["1", "x"]], [["a", "b"], ["1", "y"]], header=True)
    sent = JobFeedback(**COMMON, verdict=verdict.model_copy(update={"attempt": 3}))
    received = parse_event(sent.model_dump_json())
    assert isinstance(received, JobFeedback)
    assert received.verdict == sent.verdict and received.verdict.summary == verdict.summary
