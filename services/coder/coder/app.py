"""The coder service as a FastStream app."""
from __future__ import annotations

from recast_common.consumer import build_app
from recast_common.consumers import consumer
from recast_common.settings import Settings

from coder.handlers import handle

CONSUMER = consumer("coder")


def create_app(settings: Settings | None = None):
    app, _ = build_app(CONSUMER.name, CONSUMER.topics, CONSUMER.check(handle), settings)
    return app
