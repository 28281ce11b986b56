"""How pipeline events change the projected state of a job (pure; the projector applies the result).

Events of one job arrive over several topics, so their order is not guaranteed across topics and a
redelivered or late event may show up after newer ones. A job's position is (attempt, stage rank); an event
only moves a job forward, and a terminal job (succeeded, failed, deleted) never moves again.

A job id may be replaced by a new submission while events of the old one are still in flight: those are stale
and change nothing. Events name their submission; only those of older producers (without one) fall back to
comparing their timestamp with the job's creation, which assumes the hosts' clocks agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recast_common.events import (
    Event,
    InferenceCompleted,
    InferenceFailed,
    JobCoded,
    JobFailed,
    JobFeedback,
    JobPlanned,
    JobProfiled,
    JobProgress,
    JobSubmitted,
    JobSucceeded,
)
from recast_engine.dsl import candidate_fingerprint

from gateway.core.profiles import announced_profiles

TERMINAL = ("succeeded", "needs_review", "failed", "deleted")
STAGE_RANK = {"queued": 0, "profiling": 1, "planning": 2, "coding": 3, "testing": 4}
STAGE_PERCENT = {"queued": 0, "profiling": 10, "planning": 25, "coding": 50, "testing": 75}


@dataclass(frozen=True)
class JobView:
    status: str
    attempt: int
    created_at: datetime | None = None
    submission: str | None = None


@dataclass
class Projection:
    job: dict[str, Any] = field(default_factory=dict)  # job columns to set
    attempt: dict[str, Any] | None = None  # {"number": n, **attempt columns} to upsert
    run: dict[str, Any] | None = None  # {"id": run_id, **inference_runs columns} to set
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # artifacts rows to upsert by s3_key
    profiles: list[dict[str, Any]] = field(default_factory=list)  # data_profiles rows to upsert by (s3_key, role)

    @property
    def empty(self) -> bool:
        return not self.job and self.attempt is None and self.run is None and not self.artifacts and not self.profiles


def program_fingerprint(program: dict[str, Any] | None, llm_script: str | None = None) -> str | None:
    """The attempt's candidate fingerprint, the same one the tester excludes after a failure."""
    try:
        return candidate_fingerprint(program, llm_script)
    except ValueError:  # a Program of another schema version: the attempt is still recorded, unnamed
        return None


def _position(status: str, attempt: int) -> tuple[int, int]:
    return attempt, STAGE_RANK.get(status, 0)


def _move(job: JobView, status: str, attempt: int, **fields: Any) -> dict[str, Any]:
    """Job columns for moving to (attempt, status), or {} when that would be a step backwards."""
    if job.status in TERMINAL:
        return {}
    if _position(status, attempt) < _position(job.status, job.attempt):
        return {}
    changes = {"status": status, "attempt": attempt, "stage": status, "percent": STAGE_PERCENT[status]}
    changes.update(fields)
    return changes


def _finish(job: JobView, status: str, **fields: Any) -> dict[str, Any]:
    if job.status in TERMINAL:
        return {}
    return {"status": status, "percent": 100, **fields}


def _artifact(kind: str, key: str | None, size: int | None, sha256: str | None) -> list[dict[str, Any]]:
    if not key or size is None or not sha256:
        return []  # from a producer that does not announce sizes yet
    return [{"kind": kind, "s3_key": key, "size": size, "sha256": sha256}]


def announced_artifacts(event: Event) -> list[dict[str, Any]]:
    """The stored files an event announces with their size and sha256, as artifacts rows."""
    match event:
        case JobProfiled():
            return _artifact("profile", event.profile_key, event.profile_size, event.profile_sha256)
        case JobCoded():
            return _artifact("script", event.script_key, event.script_size, event.script_sha256)
        case JobFeedback() | JobSucceeded() | JobFailed():
            return _artifact("verdict", event.verdict_key, event.verdict_size, event.verdict_sha256)
        case InferenceCompleted():
            return _artifact("inference_input", event.input_key, event.input_size, event.input_sha256) + _artifact(
                "inference_output", event.output_key, event.output_size, event.output_sha256
            )
        case InferenceFailed():
            return _artifact("inference_input", event.input_key, event.input_size, event.input_sha256)
    return []


def review_message(event: JobSucceeded) -> str:
    """Why a script that reproduces the example is not trusted on new data, and what would settle it."""
    trust = event.trust
    label = "ambiguous" if trust.confidence == "ambiguous" else "it memorizes the example"
    message = f"attempt {event.attempt} reproduced the expected output but is not trusted ({label}): {trust.reason}"
    if trust.suggestion:
        message += f". Try: {trust.suggestion}"
    return message + ". Accept it with POST .../accept, or add rows or instructions and resubmit"


def is_stale(job: JobView, event: Event) -> bool:
    """True for an event of another submission than the job's current one (the job id was replaced)."""
    if event.submission is not None:
        return event.submission != job.submission
    return job.created_at is not None and event.created_at < job.created_at


def project(job: JobView, event: Event) -> Projection:
    if is_stale(job, event):
        return Projection()
    change = _project_state(job, event)
    change.artifacts = announced_artifacts(event)
    change.profiles = announced_profiles(event)
    return change


def _project_state(job: JobView, event: Event) -> Projection:
    n = event.attempt
    match event:
        case JobSubmitted():
            return Projection()
        case JobProfiled():
            return Projection(job=_move(job, "planning", n, message="profiled; searching for a conversion"))
        case JobPlanned():
            fingerprint = program_fingerprint(event.program, event.llm_script)
            moved = _move(job, "coding", n, message=f"attempt {n}: plan found ({event.source})")
            if event.instruction_report is not None:  # metadata, kept even when the plan arrives after later stages
                moved["instructions"] = event.instruction_report
            return Projection(
                job=moved,
                attempt={"number": n, "status": "planned", "program_fingerprint": fingerprint},
            )
        case JobCoded():
            return Projection(
                job=_move(job, "testing", n, message=f"attempt {n}: script written; testing"),
                attempt={"number": n, "status": "coded", "metrics": {"script_key": event.script_key}},
            )
        case JobFeedback():
            return Projection(
                job=_move(
                    job,
                    "planning",
                    n + 1,
                    message=f"attempt {n} did not reproduce the expected output; retrying",
                ),
                attempt={"number": n, "status": "failed", "verdict": event.verdict.to_dict()},
            )
        case JobSucceeded():
            trusted = event.trust is None or event.trust.confidence == "trusted"
            return Projection(
                job=_finish(
                    job,
                    "succeeded" if trusted else "needs_review",
                    stage="done",
                    script_key=event.script_key,
                    attempt=n,
                    message=f"attempt {n} reproduced the expected output" if trusted else review_message(event),
                    error=None,
                ),
                attempt={
                    "number": n,
                    "status": "passed",
                    "verdict": event.verdict.to_dict(),
                    "metrics": {"script_key": event.script_key},
                },
            )
        case JobFailed():
            # Attempt n's row takes only attempt n's own verdict: the best one may be an earlier attempt's, and a
            # planner that gives up after attempt n-1 ran nothing as attempt n.
            own = event.attempt_verdict
            if own is None and event.verdict and (event.verdict.attempt or n) == n:
                own = event.verdict
            attempt = {"number": n, "status": "failed", "verdict": own.to_dict()} if own else None
            finished = _finish(
                job, "failed", stage=event.stage or "failed", error=event.reason, message=event.reason
            )
            if event.instruction_report is not None:
                finished["instructions"] = event.instruction_report
            return Projection(job=finished, attempt=attempt)
        case JobProgress():
            status = event.stage if event.stage in STAGE_RANK else job.status
            changes = _move(
                job, status, max(n, 1), message=event.message, percent=max(0, min(99, event.percent))
            )
            if changes and event.stage not in STAGE_RANK:
                changes["stage"] = event.stage
            return Projection(job=changes)
        case InferenceCompleted():
            return Projection(
                run={
                    "id": event.run_id,
                    "status": "succeeded",
                    "output_key": event.output_key,
                    "metrics": event.metrics,
                    "error": None,
                    "drift_warnings": [w.model_dump(mode="json") for w in event.drift_warnings],
                    "warnings": event.warnings.model_dump(mode="json") if event.warnings else None,
                }
            )
        case InferenceFailed():
            metrics = {"verdict": event.verdict.to_dict()} if event.verdict else None
            return Projection(
                run={"id": event.run_id, "status": "failed", "error": event.reason, "metrics": metrics,
                     "warnings": event.warnings.model_dump(mode="json") if event.warnings else None}
            )
    return Projection()
