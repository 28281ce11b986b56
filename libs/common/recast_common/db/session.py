"""Engine and session factory; database URLs accepted in libpq or SQLAlchemy form."""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from recast_common.settings import Settings
from recast_common.tracing import instrument_engine

_LIBPQ_SCHEMES = ("postgresql://", "postgres://")
_SQLALCHEMY_SCHEMES = ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql+psycopg2://")


def sqlalchemy_url(url: str) -> str:
    """Any Postgres URL -> postgresql+asyncpg://..."""
    for scheme in _LIBPQ_SCHEMES + _SQLALCHEMY_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url[len(scheme) :]
    raise ValueError(f"not a Postgres URL: {url.split('@')[-1]}")


def asyncpg_dsn(url: str) -> str:
    """Any Postgres URL -> postgresql://... (what asyncpg.connect takes)."""
    return "postgresql://" + sqlalchemy_url(url)[len("postgresql+asyncpg://") :]


def make_engine(database_url: str, ping_after_idle: float | None = None, **kw) -> AsyncEngine:
    """An engine whose pool pings a connection before lending it (a database restart leaves dead connections in
    the pool): every time, or with `ping_after_idle` only when it has been idle that many seconds."""
    kw.setdefault("pool_pre_ping", ping_after_idle is None)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 10)
    engine = create_async_engine(sqlalchemy_url(database_url), **kw)
    if ping_after_idle is not None:
        ping_idle_connections(engine, ping_after_idle)
    instrument_engine(engine)  # db spans, when tracing is on
    return engine


def ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout only when it has been idle `idle_seconds`: SQLAlchemy's pre-ping costs
    three round trips (BEGIN, a statement, ROLLBACK) on every checkout, more than a small read itself. A
    connection in steady use needs none: should the database restart under it, the request fails as transient
    (503, Retry-After) and its error invalidates every connection of the pool opened before."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checkin(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # a new connection, or one in steady use
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise exc.DisconnectionError() from error  # the pool replaces it and tries again


@lru_cache(maxsize=16)
def _engine_for(database_url: str, loop_id: int) -> AsyncEngine:
    return make_engine(database_url)


def _loop_id() -> int:
    try:
        return id(asyncio.get_running_loop())
    except RuntimeError:
        return 0


def session_factory(settings: Settings) -> async_sessionmaker:
    """One engine per database URL and event loop (pooled connections belong to the loop that opened them);
    sessions do not expire objects on commit."""
    return async_sessionmaker(_engine_for(settings.database_url, _loop_id()), expire_on_commit=False)
