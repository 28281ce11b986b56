"""Run the Alembic migrations in code: `upgrade(url)`, or `python -m recast_common.db.migrate [URL]`."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

from recast_common.db.session import sqlalchemy_url

_HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(_HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    # ConfigParser interpolation: a literal % in the URL must be doubled.
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return cfg


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision`. Safe to call from inside an event loop (runs in a thread then)."""
    cfg = alembic_config(database_url)
    if not _in_running_loop():
        command.upgrade(cfg, revision)
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            command.upgrade(cfg, revision)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="alembic-upgrade")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


def main() -> None:
    from recast_common.settings import Settings

    upgrade(sys.argv[1] if len(sys.argv) > 1 else Settings().database_url)


if __name__ == "__main__":
    main()
