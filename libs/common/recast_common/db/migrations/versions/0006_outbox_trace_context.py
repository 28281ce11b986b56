"""The outbox keeps the trace context of the request that wrote each row (W3C traceparent/tracestate), so the
relay's publish, and every consumer after it, continue that request's trace (recast_common.tracing).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("trace_context", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "trace_context")
