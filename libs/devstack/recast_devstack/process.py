"""Child processes that never outlive their parent.

Each child runs in its own process group (so stopping it also stops anything it forked) and gets a
parent-death signal (Linux prctl PR_SET_PDEATHSIG), so a crashed or SIGKILLed test session or `make run`
leaves no orphans behind.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1


# Resolved in the parent: the child, between fork and exec, should only make plain calls (no dlopen).
_prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl if sys.platform.startswith("linux") else None


def _child_setup(parent_pid: int, death_signal: int) -> None:
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, death_signal)
    # The parent may have died between fork and prctl: then nobody would ever signal us.
    if os.getppid() != parent_pid:
        os._exit(1)


class ManagedProcess:
    """A child process in its own process group, stopped by signalling the whole group.

    Create it from a long-lived thread (the event loop's): Linux sends the parent-death signal when the
    *thread* that forked the child exits, so spawning from asyncio.to_thread would kill it early.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        log_path: str | Path | None = None,
        death_signal: int = signal.SIGKILL,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = Path(log_path) if log_path else None
        self._log: IO[bytes] | None = None
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - stays open for the child's lifetime
        parent = os.getpid()
        self.popen = subprocess.Popen(
            self.argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log if self._log else None,
            stderr=subprocess.STDOUT if self._log else None,
            start_new_session=True,
            # Only two syscalls run in the forked child (prctl, getppid), no locks taken.
            preexec_fn=lambda: _child_setup(parent, death_signal),  # noqa: PLW1509
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
        """Send `sig` to the group, wait up to `timeout` seconds, then SIGKILL. Returns the exit code."""
        if self.running:
            self.signal_group(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.popen.returncode

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)  # also reaps anything left in the group
        if self.popen.poll() is None:
            self.popen.kill()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self._log:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 30) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    """Poll a synchronous predicate until it is true, else raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
