"""The migrations form one line: two branches adding a revision with the same parent would leave the stack unable to
upgrade to `head` (Alembic refuses several heads)."""
from __future__ import annotations

from alembic.script import ScriptDirectory
from recast_common.db.migrate import alembic_config


def test_the_migrations_have_exactly_one_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://unused@127.0.0.1/none"))
    assert len(scripts.get_heads()) == 1, f"several heads: {scripts.get_heads()}; renumber the newest migration"


def test_every_revision_is_named_after_its_file() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://unused@127.0.0.1/none"))
    for revision in scripts.walk_revisions():
        assert revision.path.rsplit("/", 1)[-1].startswith(f"{revision.revision}_")
