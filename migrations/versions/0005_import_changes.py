"""import changes: what each file import wrote, so `burry import undo ID` can take it back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

`app.import_changes` has a row per row an import wrote: its table, natural key, and the whole row
as it was before (NULL: the import inserted it). `written` holds what the import set, for
`app.ad_accounts` only (raw tables carry a write stamp instead: a row whose stamp is no longer its
import's transaction time was changed by a later write). `app.file_imports.undone_at` marks an
undone import (kept as history; the same file may be imported again), `changes_tracked` the
imports that have a change log (those before this revision cannot be undone).
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE app.import_changes (
            id          bigserial PRIMARY KEY,
            import_id   bigint    NOT NULL REFERENCES app.file_imports (id) ON DELETE CASCADE,
            table_name  text      NOT NULL,
            key         jsonb     NOT NULL,
            previous    jsonb,
            written     jsonb
        );
        CREATE INDEX import_changes_import_idx ON app.import_changes (import_id, table_name);

        ALTER TABLE app.file_imports
            ADD COLUMN changes_tracked boolean NOT NULL DEFAULT false,
            ADD COLUMN undone_at timestamptz;
        ALTER TABLE app.file_imports DROP CONSTRAINT file_imports_file_mapping_encoding_key;
        CREATE UNIQUE INDEX file_imports_current_key ON app.file_imports (file_sha256, mapping_sha256, encoding)
            WHERE undone_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM app.file_imports WHERE undone_at IS NOT NULL;
        DROP INDEX app.file_imports_current_key;
        ALTER TABLE app.file_imports ADD CONSTRAINT file_imports_file_mapping_encoding_key
            UNIQUE (file_sha256, mapping_sha256, encoding);
        ALTER TABLE app.file_imports DROP COLUMN undone_at, DROP COLUMN changes_tracked;
        DROP TABLE app.import_changes;
        """
    )
