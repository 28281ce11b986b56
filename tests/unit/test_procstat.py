"""The bench's CPU meter finds a service's worker processes, which their parent has not reaped yet."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

from recast_devstack.procstat import child_pids, descendant_pids


def test_descendants_include_the_children_of_children() -> None:
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    sleepers: list[int] = []
    try:
        deadline = time.monotonic() + 10
        while not sleepers and time.monotonic() < deadline:
            time.sleep(0.02)
            sleepers = child_pids(shell.pid)
        assert len(sleepers) == 1
        found = descendant_pids(os.getpid())
        assert shell.pid in found and sleepers[0] in found
        assert os.getpid() not in found
    finally:
        for pid in sleepers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shell.kill()
        shell.wait()
