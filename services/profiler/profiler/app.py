"""The profiler service as a FastStream app."""
from __future__ import annotations

from recast_common.consumer import build_app
from recast_common.consumers import consumer
from recast_common.settings import Settings

CONSUMER = consumer("profiler")


def create_app(settings: Settings | None = None):
    app, _ = build_app(CONSUMER.name, CONSUMER.topics, CONSUMER.lazy(), settings)
    return app
