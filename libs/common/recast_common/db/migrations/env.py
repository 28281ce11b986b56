"""Alembic environment: async engine (asyncpg); URL from the config or RECAST_DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from recast_common.db.models import Base
from recast_common.db.session import sqlalchemy_url
from recast_common.settings import Settings
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return sqlalchemy_url(config.get_main_option("sqlalchemy.url") or Settings().database_url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            # Serialize concurrent migrators (several services may start at once).
            await connection.exec_driver_sql("SELECT pg_advisory_lock(7418201)")
            await connection.commit()
            try:
                await connection.run_sync(_run_sync)
                await connection.commit()
            finally:
                await connection.exec_driver_sql("SELECT pg_advisory_unlock(7418201)")
                await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
