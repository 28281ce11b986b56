"""Jobs may end in needs_review: a script reproduces the example but the engine does not trust it on new data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_WITH = "'queued','profiling','planning','coding','testing','succeeded','needs_review','failed','deleted'"
_WITHOUT = "'queued','profiling','planning','coding','testing','succeeded','failed','deleted'"


def upgrade() -> None:
    op.drop_constraint("ck_jobs_status", "jobs", type_="check")
    op.create_check_constraint("ck_jobs_status", "jobs", f"status IN ({_WITH})")


def downgrade() -> None:
    op.execute("UPDATE jobs SET status = 'succeeded' WHERE status = 'needs_review'")
    op.drop_constraint("ck_jobs_status", "jobs", type_="check")
    op.create_check_constraint("ck_jobs_status", "jobs", f"status IN ({_WITHOUT})")
