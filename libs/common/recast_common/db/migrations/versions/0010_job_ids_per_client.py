"""Job ids are scoped per client: the id a client sees (public_id) is unique within that client only, so one
client can no longer take an id before another. jobs.id stays the internal, global id of events, S3 folders
and child rows; a job whose id the client did not choose has public_id = id.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("public_id", sa.String(64), nullable=True))
    op.execute("UPDATE jobs SET public_id = id")
    op.alter_column("jobs", "public_id", nullable=False)
    op.create_unique_constraint("uq_jobs_client_public_id", "jobs", ["client_id", "public_id"])


def downgrade() -> None:
    op.drop_constraint("uq_jobs_client_public_id", "jobs", type_="unique")
    op.drop_column("jobs", "public_id")
