"""Pure conversions between Postgres URL flavours (libpq / asyncpg and SQLAlchemy's asyncpg dialect)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database (query such as ?host=/socket/dir is kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def to_asyncpg_url(url: str) -> str:
    """A plain libpq URL as accepted by asyncpg.connect (drops a SQLAlchemy '+driver' suffix)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def to_sqlalchemy_url(url: str) -> str:
    """The URL for SQLAlchemy's async engine: postgresql+asyncpg://..."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, parts.query, parts.fragment))


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def check_database_name(name: str) -> str:
    """Database names are interpolated into DDL: allow only plain lower-case identifiers."""
    if not _DB_NAME.match(name):
        raise ValueError(f"invalid database name {name!r}")
    return name
