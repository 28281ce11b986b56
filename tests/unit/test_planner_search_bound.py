"""The planner never waits on a search forever: past its budget plus a grace the worker is killed."""
from __future__ import annotations

from planner import handlers

PAIR_IN = b"name\nada\nalan\n"
PAIR_OUT = b"name\nADA\nALAN\n"


async def test_an_overrunning_search_is_killed_and_the_next_one_runs(monkeypatch):
    # A spawned worker needs far more than 50 ms to start, so this bound is always overrun.
    monkeypatch.setattr(handlers, "HARD_STOP_GRACE_SECONDS", 0.05)
    killed = await handlers.run_search(PAIR_IN, PAIR_OUT, "yes", 0.0, [])
    assert killed.programs == [] and "was killed" in killed.error

    monkeypatch.setattr(handlers, "HARD_STOP_GRACE_SECONDS", 60.0)
    found = await handlers.run_search(PAIR_IN, PAIR_OUT, "yes", 10.0, [])
    assert found.programs and not found.error
