"""Which artifacts rows an event announces (gateway.core.projection) and the attempt a key belongs to."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gateway.api.routes.jobs import attempt_of_key
from gateway.core.projection import JobView, announced_artifacts, project
from recast_common.events import (
    InferenceCompleted,
    InferenceFailed,
    JobCoded,
    JobFailed,
    JobFeedback,
    JobProfiled,
    JobProgress,
    parse_event,
)
from recast_engine.verify.verdict import Verdict

IDS = {"job_id": "j1", "client_id": "c1"}
PAIR = {"input_key": "c1/j1/in.csv", "expected_key": "c1/j1/exp.csv"}
SHA = "0" * 64


def test_each_announcing_event_yields_its_file():
    assert announced_artifacts(
        JobProfiled(**IDS, **PAIR, profile_key="c1/j1/profile.json", profile_size=5, profile_sha256=SHA)
    ) == [{"kind": "profile", "s3_key": "c1/j1/profile.json", "size": 5, "sha256": SHA}]
    coded = JobCoded(**IDS, **PAIR, attempt=2, script_key="c1/j1/attempt-2/script.py", script_size=9,
                     script_sha256=SHA)
    assert [a["kind"] for a in announced_artifacts(coded)] == ["script"]
    feedback = JobFeedback(**IDS, **PAIR, verdict=Verdict(passed=False), verdict_key="c1/j1/attempt-1/verdict.json",
                           verdict_size=2,
                           verdict_sha256=SHA)
    assert announced_artifacts(feedback)[0]["kind"] == "verdict"
    completed = InferenceCompleted(**IDS, run_id="r", output_key="o", output_size=3, output_sha256=SHA,
                                   input_key="i", input_size=4, input_sha256=SHA)
    assert [(a["kind"], a["s3_key"], a["size"]) for a in announced_artifacts(completed)] == [
        ("inference_input", "i", 4), ("inference_output", "o", 3)
    ]
    failed_run = InferenceFailed(**IDS, run_id="r", reason="x", input_key="i", input_size=4, input_sha256=SHA)
    assert [a["kind"] for a in announced_artifacts(failed_run)] == ["inference_input"]


def test_events_without_sizes_announce_nothing():
    # What a producer from before these fields sends; they still parse (schema version 1).
    old = parse_event({"type": "job.coded", **IDS, **PAIR, "script_key": "k"})
    assert announced_artifacts(old) == []
    assert announced_artifacts(JobFailed(**IDS, reason="no plan")) == []
    assert announced_artifacts(JobProgress(**IDS, stage="coding")) == []


def test_projection_carries_artifacts_even_for_a_finished_job_but_not_for_a_replaced_one():
    coded = JobCoded(**IDS, **PAIR, script_key="k", script_size=1, script_sha256=SHA)
    finished = project(JobView(status="succeeded", attempt=1), coded)
    assert finished.job == {} and len(finished.artifacts) == 1 and not finished.empty
    replaced = JobView(status="queued", attempt=1, created_at=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert project(replaced, coded).artifacts == []


def test_attempt_of_key():
    assert attempt_of_key("c1/j1/attempt-12/script.py") == 12
    assert attempt_of_key("c1/j1/train-abc/input.csv") is None
    assert attempt_of_key("c1/j1/profile.json") is None
