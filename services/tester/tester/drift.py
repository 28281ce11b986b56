"""An inference input's profile and its drift from the train input, for the inference.completed event.

The profile is stored beside the run's input; the drift warnings travel in the event and are counted in
recast_drift_warnings_total. A split input (tester.chunked) is profiled chunk by chunk, each chunk with the
layout the whole input has (input_layout), and the run's last chunk merges the chunks' partial profiles into the
input's profile (merged_input_profile), as profile_input's.

Profiling never fails a run: without a train profile there is no drift to report, and an error only costs the
profile.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from prometheus_client import Counter
from recast_common.consumer import HandlerContext
from recast_common.events import DriftWarning, FileProfileSummary, InferenceChunkRequested, InferenceRequested
from recast_common.stage_files import program_key_of_script, run_profile_key, train_profile_key_of_script
from recast_engine.profiling import profile_file
from recast_engine.profiling.drift import drift
from recast_engine.profiling.partial import TableLayout, table_layout
from recast_engine.profiling.summary import file_summary

from tester.chunk_profile import merge_chunk_profiles

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


def _header_mode(train: dict[str, Any] | None) -> str:
    """The inference input is read as the train input was: with a header when it had one."""
    return "yes" if train and train.get("header_guess") else ("no" if train else "auto")


async def _train_and_program(ctx: HandlerContext, script_key: str) -> tuple[dict | None, dict | None]:
    return (await _stored_json(ctx, train_profile_key_of_script(script_key)),
            await _stored_json(ctx, program_key_of_script(script_key)))


async def profile_input(ctx: HandlerContext, event: InferenceRequested, source: Path) -> dict[str, Any]:
    """The InferenceCompleted fields of the input's profile: its key, size, summary and drift warnings."""
    async def profile(train: dict[str, Any] | None) -> dict[str, Any]:
        return await asyncio.to_thread(profile_file, source, _header_mode(train))

    return await _profiled(ctx, event.run_id, event.input_key, event.script_key, profile)


async def input_layout(ctx: HandlerContext, script_key: str, source: Path) -> TableLayout:
    """The layout every chunk of a split input is profiled with (the one profile_input reads it with)."""
    train = await _stored_json(ctx, train_profile_key_of_script(script_key))
    return await asyncio.to_thread(table_layout, source, _header_mode(train))


async def merged_input_profile(ctx: HandlerContext, event: InferenceChunkRequested, parts: list[bytes]
                               ) -> dict[str, Any]:
    """profile_input's fields for a split input, from its chunks' partial profiles in order."""
    async def profile(_: dict[str, Any] | None) -> dict[str, Any]:
        return await merge_chunk_profiles(parts, ctx.settings.sandbox_timeout_seconds)

    return await _profiled(ctx, event.run_id, event.input_key, event.script_key, profile)


async def _profiled(ctx: HandlerContext, run_id: str, input_key: str, script_key: str,
                    profile: Callable[[dict[str, Any] | None], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Profile the input (profile(train profile)), store the profile and its drift; the event's fields."""
    try:
        train, program = await _train_and_program(ctx, script_key)
        found = await profile(train)
        warnings = await asyncio.to_thread(drift, train["input"], found, program) if train and "input" in train else []
        document = {"profile": found, "drift_warnings": warnings}
        stored = json.dumps(document).encode()
        key = run_profile_key(input_key)
        await ctx.storage.put_bytes(key, stored, content_type="application/json")
    except Exception as exc:  # noqa: BLE001 - the conversion succeeded; a missing profile is only logged
        log.warning("profiling the input of run %s failed: %s", run_id, exc)
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
