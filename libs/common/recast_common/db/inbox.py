"""Consumer-side idempotency: remember which events a consumer has processed, and what it answered.

A claim and the handler's outputs commit together; the outputs are published after the commit and then marked
published. A redelivered event whose outputs were never marked published gets them sent again, unchanged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from recast_common.db.models import InboxRow


async def claim(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Record (consumer, event_id) in the caller's transaction. False: this consumer already processed it."""
    stmt = (
        insert(InboxRow)
        .values(consumer=consumer, event_id=event_id)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(InboxRow.event_id)
    )
    return (await session.execute(stmt)).first() is not None


async def record_outputs(session: AsyncSession, consumer: str, event_id: str, outputs: list[dict[str, Any]]) -> None:
    """Store what the handler returned for a claimed event, in the claim's transaction."""
    await session.execute(
        update(InboxRow)
        .where(InboxRow.consumer == consumer, InboxRow.event_id == event_id)
        .values(outputs=outputs)
    )


async def unpublished_outputs(session: AsyncSession, consumer: str, event_id: str) -> list[dict[str, Any]] | None:
    """The stored outputs of an already claimed event not yet marked published, else None."""
    stmt = select(InboxRow.outputs).where(
        InboxRow.consumer == consumer,
        InboxRow.event_id == event_id,
        InboxRow.published_at.is_(None),
        InboxRow.outputs.is_not(None),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def stored_outputs(session: AsyncSession, consumer: str, event_id: str) -> list[dict[str, Any]] | None:
    """The stored outputs of an already claimed event, published or not (None: none were recorded)."""
    stmt = select(InboxRow.outputs).where(
        InboxRow.consumer == consumer,
        InboxRow.event_id == event_id,
        InboxRow.outputs.is_not(None),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def mark_published(session: AsyncSession, consumer: str, event_id: str) -> None:
    await session.execute(
        update(InboxRow)
        .where(InboxRow.consumer == consumer, InboxRow.event_id == event_id)
        .values(published_at=func.now())
    )
