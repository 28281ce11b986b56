"""Large inference runs split in chunks (tester.chunked): one row per run (its multipart upload) and one per chunk
(its part), so that a redelivered or retried chunk replaces its own part and the last chunk completes the upload.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chunked_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(64), nullable=False, index=True),
        sa.Column("output_key", sa.Text, nullable=False),
        sa.Column("upload_id", sa.Text, nullable=False),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="converting"),
        sa.Column("facts", JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "inference_chunks",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("chunked_runs.run_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("chunk_index", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("tries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("replica", sa.String(200), nullable=True),
        sa.Column("etag", sa.Text, nullable=True),
        sa.Column("part_size", sa.BigInteger, nullable=True),
        sa.Column("output_rows", sa.BigInteger, nullable=True),
        sa.Column("metrics", JSONB, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("inference_chunks")
    op.drop_table("chunked_runs")
