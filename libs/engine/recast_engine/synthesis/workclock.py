"""The search's clock counts work, not seconds, so that the same pair gives the same program on a busy machine.

Every budget decision of the search (stop collecting alternatives, how long one column may be learned, when to
give up) reads `now()`, which advances by the work done: each call counts `work` units (a candidate checked, a
node of the concatenation search expanded, a row run through a candidate, a date field rendered). A unit is worth
SECONDS_PER_UNIT nominal seconds, about the CPU time it takes (10-25 us measured over benchmark tasks), so budgets
keep their meaning in seconds. Wall-clock time only aborts a search that overruns its timeout (search.learn): a
search that finds its program within its work budget gives the same program however busy the machine is; one
aborted by the wall clock (a starved process near its timeout) may not.

Outside a `counting()` block (a caller of learn_column of its own) `now()` is time.monotonic().
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

SECONDS_PER_UNIT = 2e-5


class _Counter:
    def __init__(self) -> None:
        self.units = 0


_active: list[_Counter] = []


def now(work: int = 1) -> float:
    """Nominal seconds of work done so far in the innermost counting block (and count `work` more)."""
    if not _active:
        return time.monotonic()
    counter = _active[-1]
    counter.units += work
    return counter.units * SECONDS_PER_UNIT


@contextmanager
def counting() -> Iterator[_Counter]:
    """Budgets inside the block are measured in work (now() starts at 0)."""
    counter = _Counter()
    _active.append(counter)
    try:
        yield counter
    finally:
        _active.remove(counter)
