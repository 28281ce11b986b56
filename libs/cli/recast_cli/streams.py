"""The CLI's plumbing: `-` for stdin/stdout, a progress line on long runs, one JSON result with --json.

A progress line is drawn on stderr only when stderr is a terminal (and not with --json or --no-progress): pipes and
log files never get carriage returns.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

STDIO = "-"


def is_stdio(name: str | Path) -> bool:
    return str(name) == STDIO


def stdin_to_file(folder: Path, name: str) -> Path:
    """Copy standard input to a file in `folder` (the engine and the sandbox read files)."""
    path = folder / name
    with path.open("wb") as sink:
        shutil.copyfileobj(sys.stdin.buffer, sink, 1 << 20)
    return path


def file_to_stdout(path: Path) -> None:
    sys.stdout.flush()
    with path.open("rb") as source:
        shutil.copyfileobj(source, sys.stdout.buffer, 1 << 20)
    sys.stdout.buffer.flush()


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="recast-cli-") as folder:
        yield Path(folder)


def print_json(result: dict[str, Any], stream: TextIO | None = None) -> None:
    print(json.dumps(result, indent=2, default=str), file=stream or sys.stdout)


def _size(num: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if num < 1024 or unit == "GB":
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GB"


def written(path: Path) -> Callable[[], str]:
    """A progress detail: how much of `path` has been written so far."""

    def detail() -> str:
        try:
            return f"{_size(path.stat().st_size)} written"
        except OSError:
            return "starting"

    return detail


@contextmanager
def progress(label: str, enabled: bool, limit: float | None = None, detail: Callable[[], str] | None = None,
             stream: TextIO | None = None, interval: float = 0.25) -> Iterator[None]:
    """Redraw `label  12s / 30s  <detail>` on one stderr line until the block ends (a terminal only)."""
    stream = stream or sys.stderr
    if not enabled:
        yield
        return
    started = time.monotonic()
    done = threading.Event()

    def draw() -> None:
        while not done.wait(interval):
            elapsed = time.monotonic() - started
            parts = [label, f"{elapsed:.0f}s" + (f" / {limit:.0f}s" if limit else "")]
            if detail is not None:
                parts.append(detail())
            stream.write("\r\x1b[2K" + "  ".join(parts))
            stream.flush()

    drawer = threading.Thread(target=draw, name="recast-progress", daemon=True)
    drawer.start()
    try:
        yield
    finally:
        done.set()
        drawer.join()
        stream.write("\r\x1b[2K")
        stream.flush()


def wants_progress(no_progress: bool, as_json: bool, stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return not no_progress and not as_json and stream.isatty()
