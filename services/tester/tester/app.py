"""The tester service as a FastStream app: a train loop and an inference loop, each in its own consumer group.

A train attempt can hold the sandbox for minutes; an inference request handled in the same loop would wait
behind it while the gateway's bounded wait for the result runs out. So inference.requested has a group of its
own, `tester-inference`, and its own message loop: one process runs both (the default), or one of them
(`--role`), so that inference replicas scale apart from train replicas.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from recast_common.consumer import Loop, build_loops_app
from recast_common.consumers import consumer
from recast_common.metrics import SANDBOX_ISOLATION
from recast_common.settings import Settings

log = logging.getLogger("tester")

TRAIN = consumer("tester")
INFERENCE = consumer("tester-inference")
ROLES = ("train", "inference")


def loops(settings: Settings, roles: Iterable[str] = ROLES) -> list[Loop]:
    """The message loops of the given roles. Both keep the consumer identity `tester` (inbox claims, derived
    event ids): a `tester-inference` group created on an upgrade starts at the earliest offset, and must skip
    the requests the combined tester already handled instead of running them again."""
    # one message may run the sandbox for sandbox_timeout_seconds
    budget = settings.sandbox_timeout_seconds
    available = {
        role: Loop(entry.name, entry.topics, entry.lazy(), group=entry.group, handler_budget_seconds=budget)
        for role, entry in (("train", TRAIN), ("inference", INFERENCE))
    }
    wanted = list(dict.fromkeys(roles))
    unknown = [role for role in wanted if role not in available]
    if unknown or not wanted:
        raise ValueError(f"unknown tester roles {unknown}; choose among {list(available)}")
    return [available[role] for role in wanted]


def create_app(settings: Settings | None = None, roles: Iterable[str] = ROLES):
    settings = settings or Settings()
    app_loops = loops(settings, roles)
    app, _ = build_loops_app(app_loops, settings)

    @app.after_startup
    async def report_sandbox() -> None:
        # What this tester's sandbox really gets here: its metric, and a row the gateway's /health shows.
        from recast_engine.verify.sandbox import network_isolation

        from tester.report import report_isolation

        layers = await asyncio.to_thread(network_isolation)
        SANDBOX_ISOLATION.labels(layers).set(1)
        log.info("sandbox isolation: %s", layers)
        try:
            await report_isolation(settings, [loop.group for loop in app_loops], layers)
        except Exception as exc:  # noqa: BLE001 - /health then lacks this replica; the work goes on
            log.warning("could not record the sandbox isolation: %s", exc)

    return app
