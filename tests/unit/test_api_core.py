"""Pure gateway logic: ids, CSV checks, cursors, API keys, event projection."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from gateway.core.csvcheck import CsvProblem, decode_csv
from gateway.core.cursor import BadCursor, decode_cursor, encode_cursor
from gateway.core.ids import is_valid_id
from gateway.core.keys import generate_key, hash_key, key_prefix
from gateway.core.projection import JobView, program_fingerprint, project
from recast_common.db.session import asyncpg_dsn, sqlalchemy_url
from recast_common.events import (
    InferenceCompleted,
    JobCoded,
    JobFailed,
    JobFeedback,
    JobPlanned,
    JobProfiled,
    JobProgress,
    JobSucceeded,
)
from recast_engine.verify.verdict import Verdict


@pytest.mark.parametrize("value", ["abc", "A-b_9", "x" * 64])
def test_valid_ids(value):
    assert is_valid_id(value)


@pytest.mark.parametrize("value", ["", "x" * 65, "../etc", "a/b", "a\\b", "..", "a.b", "a b", "é", None])
def test_invalid_ids(value):
    assert not is_valid_id(value)


def test_csv_accepts_utf8_with_bom_and_quotes():
    assert decode_csv('\ufeffa,"b,c"\n1,"x\ny"\n'.encode(), "f").startswith("a,")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        ("a,b\n\u00e9,1\n".encode("latin-1"), "UTF-8"),
        (b'a,"b\n1,2\n', "well-formed"),
        (b"a,b\x00\n", "NUL"),
    ],
)
def test_csv_rejections_say_why(data, reason):
    with pytest.raises(CsvProblem, match=reason):
        decode_csv(data, "input_file")


def test_cursor_round_trip_and_garbage():
    now = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone.utc)
    assert decode_cursor(encode_cursor(now, "job-1")) == (now, "job-1")
    with pytest.raises(BadCursor):
        decode_cursor("not a cursor!")


def test_keys_hash_and_prefix():
    key = generate_key()
    assert key != generate_key()
    assert len(hash_key(key)) == 64 and hash_key(key) == hash_key(key)
    assert key.startswith(key_prefix(key)) and len(key_prefix(key)) == 12


def test_database_urls_normalized():
    assert sqlalchemy_url("postgresql://u@h:5/db") == "postgresql+asyncpg://u@h:5/db"
    assert sqlalchemy_url("postgres://u@h/db?host=/tmp") == "postgresql+asyncpg://u@h/db?host=/tmp"
    assert asyncpg_dsn("postgresql+asyncpg://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(ValueError):
        sqlalchemy_url("mysql://x")


COMMON = {"job_id": "j", "client_id": "c", "input_key": "i", "expected_key": "e"}
FAILED = Verdict(passed=False, summary="column 1 differs")


def test_pipeline_moves_job_forward_and_records_attempts():
    job = JobView(status="queued", attempt=1)
    assert project(job, JobProfiled(**COMMON, profile_key="p")).job["status"] == "planning"
    planned = project(JobView("planning", 1), JobPlanned(**COMMON, program={"steps": []}))
    assert planned.job["status"] == "coding"
    assert planned.attempt["number"] == 1 and planned.attempt["program_fingerprint"]
    coded = project(JobView("coding", 1), JobCoded(**COMMON, script_key="s"))
    assert coded.job["status"] == "testing" and coded.attempt["status"] == "coded"
    feedback = project(JobView("testing", 1), JobFeedback(**COMMON, verdict=FAILED))
    assert feedback.job == {**feedback.job, "status": "planning", "attempt": 2}
    assert feedback.attempt == {"number": 1, "status": "failed", "verdict": FAILED.to_dict()}
    done = project(
        JobView("testing", 2),
        JobSucceeded(job_id="j", client_id="c", attempt=2, script_key="s", verdict=Verdict(passed=True, score=1.0)),
    )
    assert done.job["status"] == "succeeded" and done.job["script_key"] == "s" and done.job["percent"] == 100
    assert done.attempt["status"] == "passed"


def test_late_events_never_move_a_job_backwards():
    late_profiled = JobProfiled(**COMMON, profile_key="p")
    assert project(JobView("testing", 1), late_profiled).job == {}
    assert project(JobView("planning", 2), JobCoded(**COMMON, script_key="s", attempt=1)).job == {}
    for terminal in ("succeeded", "failed", "deleted"):
        assert project(JobView(terminal, 1), JobProgress(job_id="j", client_id="c", stage="coding")).job == {}
        assert project(JobView(terminal, 1), JobFailed(job_id="j", client_id="c", reason="x")).job == {}


def test_events_older_than_a_replaced_job_are_ignored():
    created = datetime.now(timezone.utc)
    old = JobProfiled(**COMMON, profile_key="p", created_at=created - timedelta(seconds=5))
    assert project(JobView("queued", 1, created_at=created), old).empty


def test_progress_and_failure_and_inference():
    progress = project(
        JobView("queued", 1),
        JobProgress(job_id="j", client_id="c", stage="profiling", percent=5, message="reading"),
    )
    assert progress.job["status"] == "profiling" and progress.job["message"] == "reading"
    failed = project(
        JobView("testing", 5),
        JobFailed(job_id="j", client_id="c", attempt=5, reason="no program", verdict=FAILED),
    )
    assert failed.job["status"] == "failed" and failed.job["error"] == "no program"
    assert failed.attempt == {"number": 5, "status": "failed", "verdict": FAILED.to_dict()}
    best_was_earlier = project(
        JobView("testing", 5),
        JobFailed(job_id="j", client_id="c", attempt=5, reason="none left",
                  verdict=FAILED.model_copy(update={"attempt": 2, "score": 0.9}),
                  attempt_verdict=FAILED.model_copy(update={"attempt": 5, "score": 0.1})),
    )
    assert (best_was_earlier.attempt["verdict"]["attempt"], best_was_earlier.attempt["verdict"]["score"]) == (5, 0.1)
    planner_gave_up = project(
        JobView("planning", 3),
        JobFailed(job_id="j", client_id="c", attempt=3, reason="no candidate left",
                  verdict=FAILED.model_copy(update={"attempt": 2})),
    )
    assert planner_gave_up.attempt is None and planner_gave_up.job["status"] == "failed"
    run = project(
        JobView("succeeded", 1), InferenceCompleted(job_id="j", client_id="c", run_id="r", output_key="o")
    )
    assert run.run["status"] == "succeeded" and run.job == {}


def test_fingerprint_of_llm_script_and_missing_program():
    assert program_fingerprint(None, "print(1)") != program_fingerprint(None, "print(2)")
    assert program_fingerprint(None, None) is None
