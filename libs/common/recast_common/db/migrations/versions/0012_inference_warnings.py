"""Inference runs keep what the learned script could not convert (recast_engine.verify.warnings.ConversionWarnings).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inference_runs", sa.Column("warnings", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("inference_runs", "warnings")
