"""Transactional outbox: events are written with the state change, and the relay publishes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from recast_common.db.models import OutboxRow
from recast_common.events import Event
from recast_common.tracing import current_carrier

NOTIFY_CHANNEL = "recast_outbox"


def topic_of(event: Event) -> str:
    return event.type


async def enqueue(session: AsyncSession, event: Event, topic: str | None = None,
                  marks: dict[str, Any] | None = None) -> OutboxRow:
    """Add the event to the outbox in the caller's transaction; the NOTIFY is delivered at commit. `marks` are
    keys published beside the event's fields (e.g. events.REDRIVE_MARK)."""
    row = OutboxRow(topic=topic or topic_of(event), key=event.job_id,
                    payload={**event.model_dump(mode="json"), **(marks or {})}, trace_context=current_carrier())
    session.add(row)
    await session.flush()
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return row
