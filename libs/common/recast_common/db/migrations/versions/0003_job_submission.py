"""Jobs remember the identity of their current submission.

POST /train may replace a finished job under the same id; events carry the submission they belong to, and
the projector and the consumers drop those of another one (comparing timestamps across hosts was not safe).
Rows from before this revision keep NULL, matching the events of producers that do not set it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("submission", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "submission")
