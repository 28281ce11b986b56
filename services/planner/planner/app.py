"""The planner service as a FastStream app."""
from __future__ import annotations

from recast_common.consumer import build_app
from recast_common.events import Topics
from recast_common.settings import Settings

from planner.handlers import handle

SERVICE = "planner"
TOPICS = (Topics.JOB_PROFILED, Topics.JOB_FEEDBACK)


def create_app(settings: Settings | None = None):
    settings = settings or Settings()
    # one message may run a search of search_timeout_seconds (plus an LLM call)
    app, _ = build_app(SERVICE, TOPICS, handle, settings, handler_budget_seconds=settings.search_timeout_seconds)
    return app
