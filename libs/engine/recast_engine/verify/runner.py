"""Run a learned script on a file: through the tester's sandbox when it is installed, else a plain subprocess."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from recast_engine.verify.summary_line import SummaryCatcher


@dataclass
class Outcome:
    """The fields of recast_engine.verify.sandbox.RunResult the CLI and the benchmark use."""

    ok: bool
    returncode: int | None
    reason: str
    stderr_tail: str
    wall_seconds: float
    peak_rss_mb: float
    via: str  # "sandbox" or "subprocess"
    summary_line: str = ""  # the script's warnings summary line, whole ("" when it printed none)


def sandbox_available() -> bool:
    try:
        from recast_engine.verify.sandbox import Limits, run_script  # noqa: F401
    except ImportError:
        return False
    return True


def run_learned_script(
    script: Path, input_path: Path, output_path: Path, *, timeout_seconds: float = 300.0, memory_mb: int = 2048
) -> Outcome:
    try:
        from recast_engine.verify.sandbox import Limits, run_script
    except ImportError:
        return run_plain(script, input_path, output_path, timeout_seconds=timeout_seconds, memory_mb=memory_mb)
    result = run_script(
        Path(script),
        Path(input_path),
        Path(output_path),
        Limits(timeout_seconds=timeout_seconds, memory_mb=memory_mb),
    )
    return Outcome(
        ok=bool(result.ok),
        returncode=result.returncode,
        reason=str(result.reason),
        stderr_tail=str(result.stderr_tail or ""),
        wall_seconds=float(result.wall_seconds),
        peak_rss_mb=float(result.peak_rss_mb),
        via="sandbox",
        summary_line=str(result.summary_line),
    )


def run_plain(
    script: Path,
    input_path: Path,
    output_path: Path,
    *,
    timeout_seconds: float = 300.0,
    memory_mb: int | None = 2048,
    argv_prefix: list[str] | None = None,
) -> Outcome:
    """`python script INPUT OUTPUT` with a wall-time and address-space limit; measures peak RSS."""
    command = argv_prefix or [sys.executable, str(script), str(input_path), str(output_path)]

    def limit_memory() -> None:
        if memory_mb:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=limit_memory,  # noqa: PLW1509 - only a setrlimit call in the child
    )
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout_seconds, kill)
    timer.start()
    stderr_chunks: list[bytes] = []
    stderr = proc.stderr
    assert stderr is not None  # a pipe
    reader = threading.Thread(target=lambda: stderr_chunks.append(stderr.read()), daemon=True)
    reader.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    reader.join(5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    stderr_all = b"".join(stderr_chunks)
    summary = SummaryCatcher()
    summary.feed(stderr_all)
    stderr_tail = stderr_all[-4000:].decode("utf-8", "replace")
    if timed_out.is_set():
        reason = f"timed out after {timeout_seconds:g}s"
    elif proc.returncode != 0:
        reason = f"exited with code {proc.returncode}"
        if "MemoryError" in stderr_tail:
            reason += f" (out of memory, limit {memory_mb} MB)"
    else:
        reason = "ok"
    return Outcome(
        ok=proc.returncode == 0 and not timed_out.is_set(),
        returncode=proc.returncode,
        reason=reason,
        stderr_tail=stderr_tail,
        wall_seconds=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        via="subprocess",
        summary_line=summary.text(),
    )
