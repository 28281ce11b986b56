"""Tells the rest of the system which isolation this tester's sandbox gets (for the gateway's GET /health)."""
from __future__ import annotations

from recast_common.consumer import replica_id
from recast_common.db import session_factory
from recast_common.db.models import SandboxReport
from recast_common.settings import Settings
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert


async def report_isolation(settings: Settings, roles: list[str], layers: str) -> None:
    """Upsert this replica's row: a restarted replica with the same id replaces its previous report."""
    values = {"replica": replica_id(), "roles": "+".join(roles), "isolation": layers}
    statement = insert(SandboxReport).values(**values).on_conflict_do_update(
        index_elements=["replica"], set_={**values, "reported_at": func.now()}
    )
    async with session_factory(settings)() as session, session.begin():
        await session.execute(statement)
