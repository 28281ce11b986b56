"""Profiles announced by events become data_profiles rows; drift warnings land on the inference run."""
from __future__ import annotations

from gateway.core.projection import JobView, project
from recast_common.events import DriftWarning, FileProfileSummary, InferenceCompleted, JobProfiled


def summary(rows: int, columns: int) -> FileProfileSummary:
    return FileProfileSummary(rows=rows, data_rows=rows - 1, columns=columns, header=True, null_cells=3,
                              duplicate_rows=1, kinds=["text"] * columns)


def test_a_profiled_job_announces_one_row_per_file_of_the_pair():
    event = JobProfiled(job_id="j", client_id="c", input_key="c/j/t/input.csv", expected_key="c/j/t/expected.csv",
                        profile_key="c/j/t/profile.json", input_profile=summary(7, 4), expected_profile=summary(7, 3))
    change = project(JobView(status="profiling", attempt=1), event)
    assert [(p["role"], p["rows"], p["columns"], p["s3_key"]) for p in change.profiles] == [
        ("train_input", 7, 4, "c/j/t/profile.json"), ("train_expected", 7, 3, "c/j/t/profile.json")]


def test_an_inference_announces_its_input_profile_and_keeps_its_drift_warnings():
    warning = DriftWarning(kind="unseen_value", column="tier", message="new", examples=["platinum"])
    event = InferenceCompleted(job_id="j", client_id="c", run_id="r", output_key="c/j/runs/r/output.csv",
                               profile_key="c/j/runs/r/profile.json", input_profile=summary(3, 3),
                               drift_warnings=[warning])
    change = project(JobView(status="succeeded", attempt=1), event)
    assert [(p["role"], p["run_id"], p["drift_warnings"]) for p in change.profiles] == [("inference_input", "r", 1)]
    assert change.run["drift_warnings"] == [warning.model_dump(mode="json")]


def test_events_of_older_producers_announce_no_profile():
    event = JobProfiled(job_id="j", client_id="c", input_key="i", expected_key="e", profile_key="p")
    assert project(JobView(status="profiling", attempt=1), event).profiles == []
