"""Start the stub as a real subprocess on a free port (used by the LLM tests)."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER = Path(__file__).with_name("server.py")


@contextmanager
def llm_stub(script_paths: Path | list[Path], requests_log: Path | None = None) -> Iterator[str]:
    """Yields the base URL (http://127.0.0.1:PORT/v1) of a running stub answering with the script(s), in turn."""
    paths = [script_paths] if isinstance(script_paths, Path) else list(script_paths)
    command = [sys.executable, str(SERVER)] + [arg for path in paths for arg in ("--script", str(path))]
    if requests_log is not None:
        command += ["--requests-log", str(requests_log)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"the LLM stub did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
