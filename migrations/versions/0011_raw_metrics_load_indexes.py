"""raw metrics: indexes on the day and the load time, for the incremental build's window.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

The 6-hourly dbt build re-reads raw metric rows "loaded since the last build, or in the lookback
window" (dbt_project/macros/ads/incremental_window.sql). Without an index on either column that
filter read the whole history of raw.ad_daily_metrics, three times per build (the fact twice,
its staging test once): ~0.5 s at 20 accounts x 2 years, growing with history
(bench/marts_refresh.py). With them, PostgreSQL ORs two index range scans.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("ad_daily_metrics", "campaign_daily_metrics")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"CREATE INDEX {table}_date_idx ON raw.{table} (date)")
        op.execute(f"CREATE INDEX {table}_extracted_at_idx ON raw.{table} (_extracted_at)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX raw.{table}_extracted_at_idx")
        op.execute(f"DROP INDEX raw.{table}_date_idx")
