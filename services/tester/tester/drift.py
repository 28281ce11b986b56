"""An inference input's profile and its drift from the train input, for the inference.completed event.

The profile is stored beside the run's input; the drift warnings travel in the event and are counted in
recast_drift_warnings_total. Profiling never fails a run: without a train profile there is no drift to report,
and an error only costs the profile.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from prometheus_client import Counter
from recast_common.consumer import HandlerContext
from recast_common.events import DriftWarning, FileProfileSummary, InferenceRequested
from recast_common.stage_files import program_key_of_script, run_profile_key, train_profile_key_of_script
from recast_engine.profiling import profile_file
from recast_engine.profiling.drift import drift
from recast_engine.profiling.summary import file_summary

log = logging.getLogger("tester.drift")

DRIFT_WARNINGS = Counter(
    "recast_drift_warnings_total",
    "Differences between an inference input and the train input its script was learned on, by kind.",
    ["kind"],
)


async def _stored_json(ctx: HandlerContext, key: str) -> Any:
    if await ctx.storage.head(key) is None:
        return None
    return json.loads(await ctx.storage.get_bytes(key))


def _profile_and_drift(source: Path, train: dict[str, Any] | None, program: dict[str, Any] | None) -> dict:
    header = "yes" if train and train.get("header_guess") else ("no" if train else "auto")
    profile = profile_file(source, header)
    warnings = drift(train["input"], profile, program) if train and "input" in train else []
    return {"profile": profile, "drift_warnings": warnings}


async def profile_input(ctx: HandlerContext, event: InferenceRequested, source: Path) -> dict[str, Any]:
    """The InferenceCompleted fields of the input's profile: its key, size, summary and drift warnings."""
    try:
        train = await _stored_json(ctx, train_profile_key_of_script(event.script_key))
        program = await _stored_json(ctx, program_key_of_script(event.script_key))
        document = await asyncio.to_thread(_profile_and_drift, source, train, program)
        stored = json.dumps(document).encode()
        key = run_profile_key(event.input_key)
        await ctx.storage.put_bytes(key, stored, content_type="application/json")
    except Exception as exc:  # noqa: BLE001 - the conversion succeeded; a missing profile is only logged
        log.warning("profiling the input of run %s failed: %s", event.run_id, exc)
        return {}
    warnings = [DriftWarning(**w) for w in document["drift_warnings"]]
    for warning in warnings:
        DRIFT_WARNINGS.labels(warning.kind).inc()
    return {
        "profile_key": key,
        "profile_size": len(stored),
        "profile_sha256": hashlib.sha256(stored).hexdigest(),
        "input_profile": FileProfileSummary(**file_summary(document["profile"])),
        "drift_warnings": warnings,
    }
