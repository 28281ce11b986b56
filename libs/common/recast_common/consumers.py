"""Who consumes what: every Kafka consumer group, the topics it reads and the function handling them, as data.

The services' app.py files subscribe from this table, `recast_common.kafka.GROUP_TOPICS` (lag, /queue/status)
is derived from it, and tests/unit/test_consumers.py checks the KEDA ScaledObjects against it (one trigger per
topic), so a topic added here is consumed, reported and scaled on, or a test fails.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from recast_common.events import Topics

H = TypeVar("H", bound=Callable[..., Any])


@dataclass(frozen=True)
class Consumer:
    group: str  # the Kafka consumer group; also the name of the Deployment (and ScaledObject) running it
    topics: tuple[str, ...]
    handler: str  # "module:function" handling one message of these topics
    identity: str = ""  # the consumer's name for inbox claims and derived event ids, when not the group's

    @property
    def name(self) -> str:
        return self.identity or self.group

    def check(self, handle: H) -> H:
        """`handle` itself, when it is the handler this table names for the group (else ValueError)."""
        module = handle.__module__
        if module == "__main__":  # run as `python -m package.module`: the module's real name
            spec = getattr(sys.modules[module], "__spec__", None)
            module = spec.name if spec is not None else module
        qualified = f"{module}:{handle.__qualname__}"
        if qualified != self.handler:
            raise ValueError(f"group {self.group} is handled by {self.handler}, not {qualified}")
        return handle

    def lazy(self) -> LazyHandler:
        """The table's handler, imported only when its consumer starts (recast_common.consumer imports it in a
        thread while the group join waits at the broker), not before the service joins its group: a restarted
        service consumes again sooner (the tester's handlers pull in SQLAlchemy and the engine's chunking)."""
        return LazyHandler(self.handler)


class LazyHandler:
    """A handler named "module:function", imported by `load()` (or on the first call)."""

    def __init__(self, name: str):
        self.name = name
        self._handle: Callable[..., Any] | None = None

    def load(self) -> Callable[..., Any]:
        if self._handle is None:
            module, _, attribute = self.name.partition(":")
            handle: Any = importlib.import_module(module)
            for part in attribute.split("."):
                handle = getattr(handle, part)
            self._handle = handle
        return self._handle

    async def __call__(self, *args: Any) -> Any:
        return await self.load()(*args)

    def __repr__(self) -> str:
        return f"LazyHandler({self.name!r})"


CONSUMERS: tuple[Consumer, ...] = (
    Consumer("profiler", (Topics.JOB_SUBMITTED,), "profiler.handlers:handle"),
    Consumer("planner", (Topics.JOB_PROFILED, Topics.JOB_FEEDBACK), "planner.handlers:handle"),
    Consumer("coder", (Topics.JOB_PLANNED,), "coder.handlers:handle"),
    Consumer("tester", (Topics.JOB_CODED,), "tester.handlers:handle_coded"),
    # the tester's inference loop, apart from training; same identity so that no request is handled twice
    # (and the chunks of large runs, tester.chunked)
    Consumer("tester-inference", (Topics.INFERENCE_REQUESTED, Topics.INFERENCE_CHUNK_REQUESTED),
             "tester.inference:handle_inference", "tester"),
    Consumer("projector", Topics.PROJECTED, "gateway.projector:apply_events"),
)


def consumer(group: str) -> Consumer:
    for entry in CONSUMERS:
        if entry.group == group:
            return entry
    raise KeyError(f"no consumer group {group!r}")
