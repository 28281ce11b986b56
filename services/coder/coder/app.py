"""The coder service as a FastStream app."""
from __future__ import annotations

from recast_common.consumer import build_app
from recast_common.events import Topics
from recast_common.settings import Settings

from coder.handlers import handle

SERVICE = "coder"
TOPICS = (Topics.JOB_PLANNED,)


def create_app(settings: Settings | None = None):
    app, _ = build_app(SERVICE, TOPICS, handle, settings)
    return app
