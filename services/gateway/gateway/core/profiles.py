"""The data_profiles rows an event announces (the projector upserts them)."""

from __future__ import annotations

from typing import Any

from recast_common.events import Event, FileProfileSummary, InferenceCompleted, JobProfiled


def _row(role: str, key: str, summary: FileProfileSummary, run_id: str | None = None, drift: int = 0) -> dict:
    return {
        "role": role,
        "s3_key": key,
        "run_id": run_id,
        "rows": summary.rows,
        "columns": summary.columns,
        "null_cells": summary.null_cells,
        "duplicate_rows": summary.duplicate_rows,
        "drift_warnings": drift,
        "summary": summary.model_dump(mode="json"),
    }


def announced_profiles(event: Event) -> list[dict[str, Any]]:
    """data_profiles rows of a job.profiled (train input and expected output) or an inference.completed."""
    if isinstance(event, JobProfiled):
        rows = []
        if event.input_profile is not None:
            rows.append(_row("train_input", event.profile_key, event.input_profile))
        if event.expected_profile is not None:
            rows.append(_row("train_expected", event.profile_key, event.expected_profile))
        return rows
    if isinstance(event, InferenceCompleted) and event.profile_key and event.input_profile is not None:
        return [_row("inference_input", event.profile_key, event.input_profile, event.run_id,
                     len(event.drift_warnings))]
    return []
