"""Postgres access: models, session factory, migrations, inbox/outbox helpers.

`session_factory(settings)` gives an async_sessionmaker; `migrate.upgrade(url)` brings a database to head.
"""

from recast_common.db.session import asyncpg_dsn, make_engine, session_factory, sqlalchemy_url

__all__ = ["asyncpg_dsn", "make_engine", "session_factory", "sqlalchemy_url"]
