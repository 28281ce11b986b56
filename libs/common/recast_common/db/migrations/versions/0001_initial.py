"""Initial schema: clients, api keys, jobs, attempts, job events, outbox, inbox, artifacts, inference runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(64)


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        _ts("created_at"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("client_id", ID, sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default="false"),
        _ts("created_at"),
    )
    op.create_index("ix_api_keys_client_id", "api_keys", ["client_id"])
    op.create_index("ix_api_keys_prefix", "api_keys", ["prefix"])
    op.create_table(
        "jobs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("client_id", ID, sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("stage", sa.String(32), nullable=False, server_default="queued"),
        sa.Column("percent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("header", sa.String(8), nullable=False, server_default="auto"),
        sa.Column("input_key", sa.Text, nullable=False),
        sa.Column("expected_key", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
        sa.Column("script_key", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "status IN ('queued','profiling','planning','coding','testing','succeeded','failed','deleted')",
            name="ck_jobs_status",
        ),
    )
    op.create_index("ix_jobs_client_created", "jobs", ["client_id", "created_at", "id"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_table(
        "attempts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("program_fingerprint", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="planned"),
        sa.Column("verdict", JSONB, nullable=True),
        sa.Column("metrics", JSONB, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("job_id", "number", name="uq_attempts_job_number"),
    )
    op.create_table(
        "job_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", ID, nullable=False, unique=True),
        sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("job_id", "seq", name="uq_job_events_job_seq"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        _ts("created_at"),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("event_id", ID, primary_key=True),
        _ts("processed_at"),
    )
    op.create_table(
        "artifacts",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("s3_key", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_artifacts_job_id", "artifacts", ["job_id"])
    op.create_table(
        "inference_runs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_id", ID, sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("input_key", sa.Text, nullable=False),
        sa.Column("output_key", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("metrics", JSONB, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_inference_runs_job_id", "inference_runs", ["job_id"])


def downgrade() -> None:
    for table in (
        "inference_runs",
        "artifacts",
        "inbox",
        "outbox",
        "job_events",
        "attempts",
        "jobs",
        "api_keys",
        "clients",
    ):
        op.drop_table(table)
