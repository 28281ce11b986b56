"""Data profiles of every input: one row per profiled file (train input, expected output, inference input),
and the drift warnings of an inference run.

The whole profile is the JSON file in S3 (s3_key); the row keeps its headline numbers for queries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_profiles",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(64), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("s3_key", sa.Text, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("columns", sa.Integer, nullable=False),
        sa.Column("null_cells", sa.BigInteger, nullable=False),
        sa.Column("duplicate_rows", sa.BigInteger, nullable=False),
        sa.Column("drift_warnings", sa.Integer, nullable=False, server_default="0"),
        sa.Column("summary", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("s3_key", "role", name="uq_data_profiles_key_role"),
    )
    op.create_index("ix_data_profiles_job", "data_profiles", ["job_id"])
    op.add_column("inference_runs", sa.Column("drift_warnings", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("inference_runs", "drift_warnings")
    op.drop_index("ix_data_profiles_job", table_name="data_profiles")
    op.drop_table("data_profiles")
