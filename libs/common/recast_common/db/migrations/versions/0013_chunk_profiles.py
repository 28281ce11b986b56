"""Each chunk of a large inference run keeps the partial profile of its input range (gzip'd JSON of
recast_engine.profiling.partial.PartialProfile) until the run's last chunk merges them into the input's profile.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inference_chunks", sa.Column("profile", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    op.drop_column("inference_chunks", "profile")
