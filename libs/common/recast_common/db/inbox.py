"""Consumer-side idempotency: remember which events a consumer has processed."""

from __future__ import annotations

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
