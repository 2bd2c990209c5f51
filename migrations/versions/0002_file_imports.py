"""file imports: one row per imported file, quarantined rows linked to the import that read them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Tickets may lack a creation time. Re-importing a file with the same mapping is recognised by the pair of content hashes and changes
nothing; with a corrected mapping it is imported again and its earlier quarantine rows replaced.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE app.file_imports (
            id                bigserial   PRIMARY KEY,
            kind              text        NOT NULL CHECK (kind IN ('ads', 'tickets')),
            file_name         text        NOT NULL,
            file_sha256       text        NOT NULL,
            mapping_name      text        NOT NULL,
            mapping_sha256    text        NOT NULL,
            source            text        NOT NULL,
            rows_read         integer     NOT NULL,
            rows_loaded       integer     NOT NULL,
            rows_quarantined  integer     NOT NULL,
            exact_duplicates  integer     NOT NULL,
            imported_at       timestamptz NOT NULL DEFAULT now(),
            UNIQUE (file_sha256, mapping_sha256)
        );
        ALTER TABLE raw.quarantine
            ADD COLUMN import_id bigint REFERENCES app.file_imports (id) ON DELETE CASCADE,
            ADD COLUMN file_sha256 text;
        CREATE INDEX quarantine_file_idx ON raw.quarantine (file_sha256);
        -- A source may not say when a ticket was opened (the Kaggle export does not): raw keeps
        -- what the source said instead of inventing a time.
        ALTER TABLE raw.tickets ALTER COLUMN created_at DROP NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE raw.quarantine DROP COLUMN import_id, DROP COLUMN file_sha256;
        DELETE FROM raw.tickets WHERE created_at IS NULL;
        ALTER TABLE raw.tickets ALTER COLUMN created_at SET NOT NULL;
        DROP TABLE app.file_imports;
        """
    )
