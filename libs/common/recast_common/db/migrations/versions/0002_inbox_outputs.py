"""Inbox rows keep the events their handler returned, and when those were published.

A consumer commits the claim together with its outputs before publishing them; a redelivery after a crash
between the commit and the publish then sends the same events again instead of running the handler anew
(whose answer could differ: a search with a deadline, a sandbox run).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbox", sa.Column("outputs", JSONB, nullable=True))
    op.add_column("inbox", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("inbox", "published_at")
    op.drop_column("inbox", "outputs")
