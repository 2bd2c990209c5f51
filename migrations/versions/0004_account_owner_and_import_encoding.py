"""ad accounts get an owner; file imports record the encoding they were read in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

`app.ad_accounts.source`: the source that registered the account (demo, google_ads_api, a
mapping's source). A file import never changes a registered account's name, currency or time
zone, and writes into an account another source owns only with `burry import ... --merge`.
Backfilled from `raw.customers.source` where the account has a customer row; NULL (not known)
otherwise, and the next source to register such an account becomes its owner.

`app.file_imports.encoding`: the text encoding the file was read in (given with --encoding or
detected). A file imported again with another encoding is a new import, as with a corrected
mapping; imports before this revision were read as UTF-8.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE app.ad_accounts ADD COLUMN source text;
        UPDATE app.ad_accounts AS a SET source = c.source
        FROM raw.customers AS c WHERE c.platform = a.platform AND c.account_id = a.account_id;

        ALTER TABLE app.file_imports ADD COLUMN encoding text NOT NULL DEFAULT 'utf-8';
        ALTER TABLE app.file_imports DROP CONSTRAINT file_imports_file_sha256_mapping_sha256_key;
        ALTER TABLE app.file_imports ADD CONSTRAINT file_imports_file_mapping_encoding_key
            UNIQUE (file_sha256, mapping_sha256, encoding);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        -- One import per (file, mapping) again: keep the first of those read in several encodings.
        DELETE FROM app.file_imports AS f USING app.file_imports AS g
        WHERE f.file_sha256 = g.file_sha256 AND f.mapping_sha256 = g.mapping_sha256 AND f.id > g.id;
        ALTER TABLE app.file_imports DROP CONSTRAINT file_imports_file_mapping_encoding_key;
        ALTER TABLE app.file_imports ADD CONSTRAINT file_imports_file_sha256_mapping_sha256_key
            UNIQUE (file_sha256, mapping_sha256);
        ALTER TABLE app.file_imports DROP COLUMN encoding;
        ALTER TABLE app.ad_accounts DROP COLUMN source;
        """
    )
