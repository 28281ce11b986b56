"""End-to-end job durations, observed by the projector: apart from gateway.metrics, whose FastAPI imports the
projector does not need (half a second of its start-up, before it joins its consumer group)."""
from __future__ import annotations

from datetime import datetime, timezone

from prometheus_client import Histogram

JOB_DURATION = Histogram(
    "recast_job_duration_seconds",
    "From a job's creation to its terminal event (job.succeeded or job.failed), once per job.",
    ["outcome"],
    buckets=(1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0),
)


def job_duration_seconds(created_at: datetime, finished_at: datetime) -> float:
    """Seconds from job creation to its terminal event (never negative, whatever the clocks did)."""
    if created_at.tzinfo is None:  # a naive timestamp is UTC here (the database stores timestamptz)
        created_at = created_at.replace(tzinfo=timezone.utc)
    if finished_at.tzinfo is None:
        finished_at = finished_at.replace(tzinfo=timezone.utc)
    return max(0.0, (finished_at - created_at).total_seconds())


def observe_job_finished(outcome: str, created_at: datetime, finished_at: datetime) -> None:
    JOB_DURATION.labels(outcome).observe(job_duration_seconds(created_at, finished_at))
