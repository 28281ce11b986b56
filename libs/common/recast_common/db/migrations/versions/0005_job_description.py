"""The original train body's fields on the job: title, description, owner, instructions, and what was read of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TEXT_COLUMNS = ("job_title", "description", "owner", "general_instructions")
JSON_COLUMNS = ("column_instructions", "instructions")


def upgrade() -> None:
    for name in TEXT_COLUMNS:
        op.add_column("jobs", sa.Column(name, sa.Text, nullable=True))
    for name in JSON_COLUMNS:
        op.add_column("jobs", sa.Column(name, JSONB, nullable=True))


def downgrade() -> None:
    for name in (*TEXT_COLUMNS, *JSON_COLUMNS):
        op.drop_column("jobs", name)
