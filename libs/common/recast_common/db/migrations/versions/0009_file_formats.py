"""Jobs and inference runs record how each uploaded file was saved (encoding, delimiter) before it was stored as
UTF-8 comma-separated CSV.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("file_formats", JSONB, nullable=True))
    op.add_column("inference_runs", sa.Column("input_format", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("inference_runs", "input_format")
    op.drop_column("jobs", "file_formats")
