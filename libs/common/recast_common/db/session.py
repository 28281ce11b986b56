"""Engine and session factory; database URLs accepted in libpq or SQLAlchemy form."""

from __future__ import annotations

import asyncio
from functools import lru_cache

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


def make_engine(database_url: str, **kw) -> AsyncEngine:
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 10)
    engine = create_async_engine(sqlalchemy_url(database_url), **kw)
    instrument_engine(engine)  # db spans, when tracing is on
    return engine


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
