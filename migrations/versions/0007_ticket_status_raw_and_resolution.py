"""ticket status_raw and resolution: the source's own status wording, and how a ticket was resolved.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

`raw.tickets.status_raw` keeps a source's own status (Jira's "In Progress") beside the canonical
`status` its mapping's value map gives (`pending`), as `priority_raw` does for priority.
`raw.tickets.resolution` is how the source says a ticket was resolved (Jira's Fixed, Duplicate,
Won't Fix), as said: NULL while unresolved or when the source does not say. Existing rows keep
NULL in both (their source wording was not kept).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE raw.tickets ADD COLUMN status_raw text, ADD COLUMN resolution text")


def downgrade() -> None:
    op.execute("ALTER TABLE raw.tickets DROP COLUMN resolution, DROP COLUMN status_raw")
