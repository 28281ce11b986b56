"""The planner service as a FastStream app."""
from __future__ import annotations

from recast_common.consumer import build_app
from recast_common.consumers import consumer
from recast_common.settings import Settings

CONSUMER = consumer("planner")


def create_app(settings: Settings | None = None):
    settings = settings or Settings()
    # one message may run a search of search_timeout_seconds (plus an LLM call)
    budget = settings.search_timeout_seconds
    app, _ = build_app(CONSUMER.name, CONSUMER.topics, CONSUMER.lazy(), settings, handler_budget_seconds=budget)
    return app
