"""Running learned scripts: the inference.requested handler, and the sandbox and verdict as the train loop uses them.

The sandbox and the cell diff are the engine's (recast_engine.verify); this module only adapts the sandbox to
settings. Events carry the engine's Verdict model as it is.
"""
from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client import Counter
from recast_common.consumer import HandlerContext
from recast_common.events import (
    Event,
    InferenceChunkRequested,
    InferenceCompleted,
    InferenceFailed,
    InferenceRequested,
)
from recast_common.formulas import neutralize_file
from recast_common.settings import Settings
from recast_engine.verify.sandbox import Limits, RunResult, run_script
from recast_engine.verify.verdict import run_failed
from recast_engine.verify.warnings import ConversionWarnings, describe_warnings, read_summary

from tester.chunked import convert_chunk, split_run
from tester.drift import profile_input

STAGE = "inference"


def run_script_sandboxed(script: Path, input_path: Path, output_path: Path, settings: Settings) -> RunResult:
    """Blocking: run `script INPUT OUTPUT` with the configured limits (call it in a thread)."""
    limits = Limits(timeout_seconds=settings.sandbox_timeout_seconds, memory_mb=settings.sandbox_memory_mb)
    return run_script(script, input_path, output_path, limits)


async def handle_inference(event: Event, ctx: HandlerContext) -> list[Event]:
    """Convert a run's input; a large one with a row-local program is split in chunks (tester.chunked)."""
    if isinstance(event, InferenceChunkRequested):
        return await convert_chunk(event, ctx)
    if not isinstance(event, InferenceRequested):
        return []
    common: dict[str, Any] = {"job_id": event.job_id, "client_id": event.client_id, "attempt": event.attempt,
                              "run_id": event.run_id}
    with tempfile.TemporaryDirectory(prefix="recast-inference-") as tmp:
        folder = Path(tmp)
        script, source, output = folder / "script.py", folder / "input.csv", folder / "output.csv"
        for key, path, what in ((event.script_key, script, "script"), (event.input_key, source, "input")):
            if await ctx.storage.head(key) is None:
                return [InferenceFailed(**common, reason=f"the {what} {key} does not exist")]
            await ctx.storage.download_file(key, path)
        common |= file_facts("input", event.input_key, source)
        chunks = await split_run(event, ctx, source, common)  # its chunks profile the input in parts
        if chunks is not None:
            return chunks
        profiling = asyncio.ensure_future(profile_input(ctx, event, source))  # while the script runs
        run = await asyncio.to_thread(run_script_sandboxed, script, source, output, ctx.settings)
        if not run.ok:
            return [InferenceFailed(**common, reason=f"the script failed: {run.reason}",
                                    verdict=run_failed(run))]
        if not output.exists():
            return [InferenceFailed(**common, reason="the script wrote no output file")]
        warnings = read_summary(run.summary_line)
        count_warnings(warnings)
        if event.strict and warnings is not None and warnings.warnings:
            await profiling  # the input's profile is stored all the same
            reason = f"strict mode: the script could not convert everything: {describe_warnings(warnings)}"
            return [InferenceFailed(**common, reason=reason[:2000], warnings=warnings)]
        neutralized = await asyncio.to_thread(neutralize_file, output) if event.neutralize_formulas else None
        await ctx.storage.upload_file(event.output_key, output)
        metrics = {
            "wall_seconds": round(run.wall_seconds, 3),
            "peak_rss_mb": round(run.peak_rss_mb, 1),
            "input_bytes": source.stat().st_size,
            "output_bytes": output.stat().st_size,
        }
        if neutralized is not None:
            metrics["formulas_neutralized"] = neutralized
        output_facts = file_facts("output", event.output_key, output)
        profiled = await profiling
        return [InferenceCompleted(**common | output_facts | profiled, metrics=metrics, warnings=warnings)]


CONVERSION_WARNINGS = Counter(
    "recast_conversion_warnings_total",
    "Cells and rows inference scripts could not convert (lookup keys not seen in training, values not in the "
    "learned format, rows of another width, another header), by kind.",
    ["kind"],
)


def count_warnings(warnings: ConversionWarnings | None) -> None:
    for warning in warnings.warnings if warnings else []:
        CONVERSION_WARNINGS.labels(warning.kind).inc(warning.count)


def file_facts(name: str, key: str, path: Path) -> dict[str, Any]:
    """`{name}_key`, `{name}_size` and `{name}_sha256` of a stored file, for the event announcing it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return {f"{name}_key": key, f"{name}_size": path.stat().st_size, f"{name}_sha256": digest.hexdigest()}
