"""The tester service as a FastStream app."""
from __future__ import annotations

import asyncio
import logging

from recast_common.consumer import build_app
from recast_common.events import Topics
from recast_common.metrics import SANDBOX_ISOLATION
from recast_common.settings import Settings

from tester.handlers import handle
from tester.sandbox import network_isolation

log = logging.getLogger("tester")

SERVICE = "tester"
TOPICS = (Topics.JOB_CODED, Topics.INFERENCE_REQUESTED)


def create_app(settings: Settings | None = None):
    settings = settings or Settings()
    # one message may run the sandbox for sandbox_timeout_seconds
    app, _ = build_app(SERVICE, TOPICS, handle, settings, handler_budget_seconds=settings.sandbox_timeout_seconds)

    @app.after_startup
    async def report_isolation() -> None:
        # What this tester's sandbox really gets here (the gateway's /health can only probe its own host).
        layers = await asyncio.to_thread(network_isolation)
        SANDBOX_ISOLATION.labels(layers).set(1)
        log.info("sandbox isolation: %s", layers)

    return app
