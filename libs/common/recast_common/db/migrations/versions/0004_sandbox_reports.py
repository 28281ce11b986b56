"""Each tester replica reports the isolation its sandbox really gets, for GET /health.

The gateway runs on other hosts (pods) than the testers, with other kernel permissions: probing its own host
said nothing about where scripts run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_reports",
        sa.Column("replica", sa.String(200), primary_key=True),
        sa.Column("roles", sa.String(100), nullable=False, server_default=""),
        sa.Column("isolation", sa.Text, nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sandbox_reports")
