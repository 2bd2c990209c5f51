"""import changes in batches: the keys of the rows an import inserted, many to a row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

Until now `app.import_changes` had one row per row an import wrote, each paying its insert, its
index entries and its foreign-key check: a third of a large import's time. A row an import
inserted needs only its key (undo deletes it), so those keys are now logged many to a row:
`keys` is `{"<key column>": [values...], ...}`, the arrays aligned (the i-th values of all arrays
are one row's key), and `key` is NULL on such a row. A row an import updated keeps its own row with
`key` and `previous` (the row as it was), as before. Downgrade writes the batches out as one row
per key, the layout revision 0005 reads.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE app.import_changes
            ADD COLUMN keys jsonb,
            ALTER COLUMN key DROP NOT NULL,
            ADD CONSTRAINT import_changes_key_or_keys CHECK ((key IS NULL) <> (keys IS NULL));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        INSERT INTO app.import_changes (import_id, table_name, key)
        SELECT b.id_import, b.table_name, jsonb_object_agg(b.name, b.value)
        FROM (
            SELECT c.id, c.import_id AS id_import, c.table_name, k.name, v.value, v.i
            FROM app.import_changes AS c, jsonb_each(c.keys) AS k (name, arr),
                jsonb_array_elements(k.arr) WITH ORDINALITY AS v (value, i)
            WHERE c.keys IS NOT NULL
        ) AS b
        GROUP BY b.id, b.id_import, b.table_name, b.i;
        DELETE FROM app.import_changes WHERE keys IS NOT NULL;
        ALTER TABLE app.import_changes
            DROP CONSTRAINT import_changes_key_or_keys,
            DROP COLUMN keys,
            ALTER COLUMN key SET NOT NULL;
        """
    )
