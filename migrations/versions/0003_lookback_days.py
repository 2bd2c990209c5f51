"""refresh jobs: `days_lookback` becomes `lookback_days`, the one name the lookback has everywhere.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE app.refresh_jobs RENAME COLUMN days_lookback TO lookback_days")


def downgrade() -> None:
    op.execute("ALTER TABLE app.refresh_jobs RENAME COLUMN lookback_days TO days_lookback")
