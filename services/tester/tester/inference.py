"""Running learned scripts: the sandbox and verdict adapters, and the inference.requested handler.

The sandbox (tester.sandbox) and the cell diff (tester.verdict) belong to the tester domain; until they are
installed, a plain subprocess with time and memory limits and an exact cell comparison stand in.
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recast_common.consumer import HandlerContext
from recast_common.events import Event, InferenceCompleted, InferenceFailed, InferenceRequested
from recast_common.settings import Settings

STAGE = "inference"


@dataclass
class Run:
    ok: bool
    reason: str
    stderr_tail: str = ""
    wall_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    via: str = "sandbox"


def run_script_sandboxed(script: Path, input_path: Path, output_path: Path, settings: Settings) -> Run:
    """Blocking: run `script INPUT OUTPUT` with the configured limits (call it in a thread)."""
    try:
        from tester.sandbox import Limits, run_script
    except ImportError:
        from recast_cli.runner import run_plain

        outcome = run_plain(script, input_path, output_path, timeout_seconds=settings.sandbox_timeout_seconds,
                            memory_mb=settings.sandbox_memory_mb)
        return Run(outcome.ok, outcome.reason, outcome.stderr_tail, outcome.wall_seconds, outcome.peak_rss_mb,
                   "subprocess")
    result = run_script(script, input_path, output_path,
                        Limits(timeout_seconds=settings.sandbox_timeout_seconds, memory_mb=settings.sandbox_memory_mb))
    return Run(
        ok=bool(result.ok),
        reason=str(getattr(result, "reason", "") or ("ok" if result.ok else "failed")),
        stderr_tail=str(getattr(result, "stderr_tail", "") or ""),
        wall_seconds=float(getattr(result, "wall_seconds", 0.0) or 0.0),
        peak_rss_mb=float(getattr(result, "peak_rss_mb", 0.0) or 0.0),
    )


def _as_dict(verdict: Any) -> dict[str, Any]:
    if isinstance(verdict, dict):
        return verdict
    for method in ("to_dict", "model_dump"):
        if hasattr(verdict, method):
            return getattr(verdict, method)()
    return dict(vars(verdict))


def passed(verdict: dict[str, Any]) -> bool:
    for key in ("passed", "ok", "match", "equal", "success"):
        if key in verdict:
            return bool(verdict[key])
    return False


def score(verdict: dict[str, Any]) -> float:
    """How close an attempt came (to pick the best failed attempt); 0 when the verdict does not say."""
    for key in ("score", "match_ratio", "cell_match_ratio", "matching_share", "similarity"):
        value = verdict.get(key)
        if isinstance(value, (int, float)):
            return float(value)
    return 1.0 if passed(verdict) else 0.0


def compare(expected: Path, actual: Path, header: bool = False) -> dict[str, Any]:
    """Blocking: the verdict of an output against the expected file, as JSON-ready data."""
    try:
        from tester.verdict import compare_files
    except ImportError:
        return _compare_exact(expected, actual)
    return _as_dict(compare_files(expected, actual, header=header))


def _read(path: Path) -> list[list[str]]:
    csv.field_size_limit(2**31 - 1)
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        return list(csv.reader(handle))


def _compare_exact(expected_path: Path, actual_path: Path) -> dict[str, Any]:
    expected, actual = _read(expected_path), _read(actual_path)
    total = sum(len(r) for r in expected) or 1
    same = sum(1 for e, a in zip(expected, actual) for x, y in zip(e, a) if x == y)
    first = next(((i, e, a) for i, (e, a) in enumerate(zip(expected, actual)) if e != a), None)
    diff = []
    if first:
        diff.append({"row": first[0] + 1, "expected": first[1][:20], "actual": first[2][:20]})
    verdict = {
        "passed": expected == actual,
        "score": round(same / total, 4) if expected != actual else 1.0,
        "expected_rows": len(expected),
        "actual_rows": len(actual),
        "diff": diff,
    }
    verdict["summary"] = "outputs match" if verdict["passed"] else (
        f"{len(actual)} rows produced, {len(expected)} expected; {same}/{total} cells match"
    )
    return verdict


def run_failure_verdict(run: Run) -> dict[str, Any]:
    """The verdict of a run that produced nothing to compare (tester.verdict.run_failed when installed)."""
    try:
        from tester.verdict import run_failed
    except ImportError:
        pass
    else:
        verdict = _as_dict(run_failed(run))
        verdict.setdefault("reason", run.reason)
        return verdict
    return {
        "passed": False,
        "score": 0.0,
        "stage": "run",
        "reason": run.reason,
        "summary": f"the script failed: {run.reason}",
        "stderr_tail": run.stderr_tail[-2000:],
        "wall_seconds": round(run.wall_seconds, 3),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
    }


async def handle_inference(event: Event, ctx: HandlerContext) -> list[Event]:
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
        run = await asyncio.to_thread(run_script_sandboxed, script, source, output, ctx.settings)
        if not run.ok:
            return [InferenceFailed(**common, reason=f"the script failed: {run.reason}",
                                    verdict=run_failure_verdict(run))]
        if not output.exists():
            return [InferenceFailed(**common, reason="the script wrote no output file")]
        await ctx.storage.upload_file(event.output_key, output)
        metrics = {
            "wall_seconds": round(run.wall_seconds, 3),
            "peak_rss_mb": round(run.peak_rss_mb, 1),
            "input_bytes": source.stat().st_size,
            "output_bytes": output.stat().st_size,
        }
        output_facts = file_facts("output", event.output_key, output)
        return [InferenceCompleted(**common | output_facts, metrics=metrics)]


def file_facts(name: str, key: str, path: Path) -> dict[str, Any]:
    """`{name}_key`, `{name}_size` and `{name}_sha256` of a stored file, for the event announcing it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return {f"{name}_key": key, f"{name}_size": path.stat().st_size, f"{name}_sha256": digest.hexdigest()}
