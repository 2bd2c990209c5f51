"""workspaces, users, API keys, ownership of accounts and ticket sources, feedback, richer interactions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Who may ask what: a workspace owns ad accounts (`app.ad_accounts.workspace_id`) and ticket sources
(`app.ticket_sources`, one row per `raw.tickets.source` value granted); users belong to one
workspace; API keys belong to users. A key is `burry_<prefix>_<secret>`: the prefix is stored in
clear (to find and list the key), the secret only as its sha256 (a high-entropy random token needs
no slow hash), compared in constant time. Revoked keys stay, marked `revoked_at`.

`app.interactions` records who asked (workspace, user, key), from where (`source`: http, cli,
slack), how long it took, what was understood (`intent`, passed back for follow-ups in the same
`conversation_id`) and the request as sent. A question may cover the whole workspace, so
`platform` and `account_id` become nullable. `app.feedback` holds any number of feedback rows
per interaction.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE app.workspaces (
            id          bigserial   PRIMARY KEY,
            name        text        NOT NULL UNIQUE CHECK (name <> ''),
            created_at  timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE app.users (
            id            bigserial   PRIMARY KEY,
            workspace_id  bigint      NOT NULL REFERENCES app.workspaces (id) ON DELETE CASCADE,
            email         text        NOT NULL UNIQUE CHECK (email <> ''),
            name          text,
            created_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX users_workspace_idx ON app.users (workspace_id);

        CREATE TABLE app.api_keys (
            id             bigserial   PRIMARY KEY,
            user_id        bigint      NOT NULL REFERENCES app.users (id) ON DELETE CASCADE,
            prefix         text        NOT NULL UNIQUE,
            secret_sha256  bytea       NOT NULL,
            name           text,
            created_at     timestamptz NOT NULL DEFAULT now(),
            last_used_at   timestamptz,
            revoked_at     timestamptz
        );
        CREATE INDEX api_keys_user_idx ON app.api_keys (user_id);

        ALTER TABLE app.ad_accounts
            ADD COLUMN workspace_id bigint REFERENCES app.workspaces (id) ON DELETE SET NULL;
        CREATE INDEX ad_accounts_workspace_idx ON app.ad_accounts (workspace_id);

        CREATE TABLE app.ticket_sources (
            source        text        PRIMARY KEY,
            workspace_id  bigint      REFERENCES app.workspaces (id) ON DELETE SET NULL,
            created_at    timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ticket_sources_workspace_idx ON app.ticket_sources (workspace_id);

        ALTER TABLE app.interactions
            ALTER COLUMN platform DROP NOT NULL,
            ALTER COLUMN account_id DROP NOT NULL,
            ADD COLUMN workspace_id    bigint REFERENCES app.workspaces (id) ON DELETE SET NULL,
            ADD COLUMN user_id         bigint REFERENCES app.users (id) ON DELETE SET NULL,
            ADD COLUMN api_key_id      bigint REFERENCES app.api_keys (id) ON DELETE SET NULL,
            ADD COLUMN source          text   NOT NULL DEFAULT 'http' CHECK (source IN ('http', 'cli', 'slack')),
            ADD COLUMN latency_ms      double precision,
            ADD COLUMN intent          jsonb,
            ADD COLUMN conversation_id text,
            ADD COLUMN request         jsonb,
            ADD COLUMN rerun_of        bigint REFERENCES app.interactions (id) ON DELETE SET NULL;
        CREATE INDEX interactions_workspace_idx ON app.interactions (workspace_id, id DESC);
        CREATE INDEX interactions_conversation_idx ON app.interactions (workspace_id, conversation_id, id DESC)
            WHERE conversation_id IS NOT NULL;

        CREATE TABLE app.feedback (
            id              bigserial   PRIMARY KEY,
            interaction_id  bigint      NOT NULL REFERENCES app.interactions (id) ON DELETE CASCADE,
            workspace_id    bigint      REFERENCES app.workspaces (id) ON DELETE CASCADE,
            user_id         bigint      REFERENCES app.users (id) ON DELETE SET NULL,
            api_key_id      bigint      REFERENCES app.api_keys (id) ON DELETE SET NULL,
            source          text        NOT NULL DEFAULT 'http' CHECK (source IN ('http', 'cli', 'slack')),
            hallucination   boolean,
            rating          smallint    CHECK (rating BETWEEN 1 AND 5),
            thumbs          text        CHECK (thumbs IN ('up', 'down')),
            correction      text,
            comment         text,
            created_at      timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX feedback_interaction_idx ON app.feedback (interaction_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE app.feedback;
        DROP INDEX app.interactions_conversation_idx;
        DROP INDEX app.interactions_workspace_idx;
        -- Questions over a whole workspace have no single account: they cannot be kept as before.
        DELETE FROM app.interactions WHERE platform IS NULL OR account_id IS NULL;
        ALTER TABLE app.interactions
            DROP COLUMN rerun_of,
            DROP COLUMN request,
            DROP COLUMN conversation_id,
            DROP COLUMN intent,
            DROP COLUMN latency_ms,
            DROP COLUMN source,
            DROP COLUMN api_key_id,
            DROP COLUMN user_id,
            DROP COLUMN workspace_id,
            ALTER COLUMN platform SET NOT NULL,
            ALTER COLUMN account_id SET NOT NULL;
        DROP TABLE app.ticket_sources;
        ALTER TABLE app.ad_accounts DROP COLUMN workspace_id;
        DROP TABLE app.api_keys;
        DROP TABLE app.users;
        DROP TABLE app.workspaces;
        """
    )
