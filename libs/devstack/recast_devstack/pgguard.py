"""Guard of an embedded Postgres: `python -m recast_devstack.pgguard POSTMASTER_PID`.

The embedded server is daemonized by pg_ctl, so it would survive a crash of the stack. This small process
is a child of the stack (it receives SIGTERM when the stack stops or dies) and then asks the postmaster for a
fast shutdown (SIGINT), waiting until it is gone.
"""
from __future__ import annotations

import os
import signal
import sys
import time


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[-1].split()[0] == "Z":
                return False  # exited, waiting to be reaped by init
    except OSError:
        pass
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def shutdown(pid: int, timeout: float = 20.0) -> None:
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown


def main() -> None:
    pid = int(sys.argv[1])
    stop = {"requested": False}

    def request_stop(*_):
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal: the stack decides
    while not stop["requested"] and _alive(pid):
        time.sleep(0.2)
    shutdown(pid)


if __name__ == "__main__":
    main()
