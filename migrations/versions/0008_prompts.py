"""prompts: template registry, immutable template versions, per-subject snapshots, served pointer.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

`app.prompt_templates` is the registry (seed 003): one row per URL-safe slug, with the version
that is active. `app.prompt_template_versions` keeps every body a template has had; a changed body
makes a new version and old versions are never edited (a trigger refuses UPDATE of a version's
body). `app.prompt_snapshots` holds rendered prompts (seed 000 §3.2), one subject per partition of
the `prompts/snapshots` asset: an ad account (`subject_kind` 'ad_account', `subject_key`
'google_ads:123') or a ticket source ('ticket_source', 'tickets:demo'). At most one snapshot
is active per subject. `app.served_prompts` points at the snapshot the ask service serves for a
subject; `version` is drawn from one sequence, so a reader notices any change by polling
`max(version)`. `app.interactions.snapshot_id` is the snapshot in force when a question was
answered (NULL when the question covered several accounts or none was served).
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE app.prompt_templates (
            id                 bigserial   PRIMARY KEY,
            slug               text        NOT NULL UNIQUE
                               CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
            name               text        NOT NULL CHECK (name <> ''),
            description        text        NOT NULL DEFAULT '',
            tags               text[]      NOT NULL DEFAULT '{}',
            output_format      text        NOT NULL DEFAULT 'text'
                               CHECK (output_format IN ('json', 'markdown', 'html', 'text')),
            source_path        text,
            active_version_id  bigint,
            created_at         timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE app.prompt_template_versions (
            id             bigserial   PRIMARY KEY,
            template_id    bigint      NOT NULL REFERENCES app.prompt_templates (id) ON DELETE CASCADE,
            version        integer     NOT NULL CHECK (version >= 1),
            body           text        NOT NULL,
            body_sha256    text        NOT NULL,
            front_matter   jsonb       NOT NULL DEFAULT '{}'::jsonb,
            variables      text[]      NOT NULL DEFAULT '{}',
            created_at     timestamptz NOT NULL DEFAULT now(),
            UNIQUE (template_id, version)
        );
        CREATE INDEX prompt_template_versions_sha_idx ON app.prompt_template_versions (template_id, body_sha256);

        ALTER TABLE app.prompt_templates
            ADD CONSTRAINT prompt_templates_active_version_fk
            FOREIGN KEY (active_version_id) REFERENCES app.prompt_template_versions (id)
            ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;

        CREATE FUNCTION app.prompt_template_versions_immutable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.body IS DISTINCT FROM OLD.body
               OR NEW.version IS DISTINCT FROM OLD.version
               OR NEW.template_id IS DISTINCT FROM OLD.template_id THEN
                RAISE EXCEPTION 'prompt template versions are immutable (version %)', OLD.id;
            END IF;
            RETURN NEW;
        END;
        $$;
        CREATE TRIGGER prompt_template_versions_immutable
            BEFORE UPDATE ON app.prompt_template_versions
            FOR EACH ROW EXECUTE FUNCTION app.prompt_template_versions_immutable();

        CREATE TABLE app.prompt_snapshots (
            id                   bigserial   PRIMARY KEY,
            subject_kind         text        NOT NULL CHECK (subject_kind IN ('ad_account', 'ticket_source')),
            subject_key          text        NOT NULL CHECK (subject_key <> ''),
            platform             text,
            account_id           text,
            workspace_id         bigint      REFERENCES app.workspaces (id) ON DELETE SET NULL,
            template_version_id  bigint      NOT NULL REFERENCES app.prompt_template_versions (id),
            template_slug        text        NOT NULL,
            template_version     integer     NOT NULL,
            rendered_text        text        NOT NULL,
            text_sha256          text        NOT NULL,
            context              jsonb       NOT NULL,
            row_keys             jsonb       NOT NULL DEFAULT '{}'::jsonb,
            token_estimate       integer     NOT NULL DEFAULT 0,
            data_refreshed_at    timestamptz,
            generated_at         timestamptz NOT NULL DEFAULT now(),
            expires_at           timestamptz NOT NULL,
            is_active            boolean     NOT NULL DEFAULT false,
            deactivated_at       timestamptz,
            dagster_run_id       text,
            CHECK (expires_at > generated_at)
        );
        CREATE UNIQUE INDEX prompt_snapshots_one_active_idx
            ON app.prompt_snapshots (subject_kind, subject_key) WHERE is_active;
        CREATE INDEX prompt_snapshots_subject_idx
            ON app.prompt_snapshots (subject_kind, subject_key, id DESC);

        CREATE SEQUENCE app.served_prompts_version_seq;
        CREATE TABLE app.served_prompts (
            subject_kind  text        NOT NULL,
            subject_key   text        NOT NULL,
            snapshot_id   bigint      NOT NULL REFERENCES app.prompt_snapshots (id),
            version       bigint      NOT NULL DEFAULT nextval('app.served_prompts_version_seq'),
            served_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (subject_kind, subject_key)
        );
        CREATE INDEX served_prompts_version_idx ON app.served_prompts (version DESC);

        -- Traceability: the snapshot in force when a question was answered.
        ALTER TABLE app.interactions
            ADD COLUMN snapshot_id bigint REFERENCES app.prompt_snapshots (id) ON DELETE SET NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE app.interactions DROP COLUMN snapshot_id;
        DROP TABLE app.served_prompts;
        DROP SEQUENCE app.served_prompts_version_seq;
        DROP TABLE app.prompt_snapshots;
        DROP TRIGGER prompt_template_versions_immutable ON app.prompt_template_versions;
        DROP FUNCTION app.prompt_template_versions_immutable();
        ALTER TABLE app.prompt_templates DROP CONSTRAINT prompt_templates_active_version_fk;
        DROP TABLE app.prompt_template_versions;
        DROP TABLE app.prompt_templates;
        """
    )
