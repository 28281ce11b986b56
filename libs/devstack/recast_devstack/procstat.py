"""CPU time of processes from /proc (Linux): what each part of a running stack has spent."""
from __future__ import annotations

import os

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int, children: bool = True) -> float | None:
    """User + system CPU seconds of a process (with its reaped children's when `children`), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            stat = handle.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: the fields we want follow its closing parenthesis
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + ((cutime + cstime) if children else 0)) / _TICKS


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (e.g. a Postgres postmaster's backends)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                found.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return found


def descendant_pids(pid: int) -> list[int]:
    """Every live process below a process: e.g. a service's worker pool (the planner's search runs in one), whose
    CPU time its parent only counts once it has reaped it."""
    found, pending = [], child_pids(pid)
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(child_pids(child))
    return found


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
