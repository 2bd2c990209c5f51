"""embeddings: the registry of vector spaces, their schema, and AI usage (tokens, cost).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

`app.embedding_spaces` names one table of vectors per (entity, model, dimension): switching model
or dimension embeds into a new table (`embeddings.ticket_vectors_<id>`, `embeddings.ad_vectors_<id>`,
created by resources/embeddings/store.py when a space is first used, with its `vector(<dimension>)`
column and its own HNSW index), so two models' vectors never share a column or an index.
A search reads the space of the configured embedder (the query's vector must come from the same
model).

`app.ai_usage` is seed 004's usage table: one row per provider call batch (an embedding run, a
search query), with provider, model, operation, tokens, cost, duration and status.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE SCHEMA IF NOT EXISTS embeddings;

        CREATE TABLE app.embedding_spaces (
            id          serial      PRIMARY KEY,
            entity      text        NOT NULL CHECK (entity IN ('ticket', 'ad')),
            model       text        NOT NULL CHECK (model <> ''),
            dimension   integer     NOT NULL CHECK (dimension BETWEEN 1 AND 2000),
            table_name  text        NOT NULL UNIQUE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            UNIQUE (entity, model, dimension)
        );

        CREATE TABLE app.ai_usage (
            id             bigserial   PRIMARY KEY,
            created_at     timestamptz NOT NULL DEFAULT now(),
            provider       text        NOT NULL,
            model          text        NOT NULL,
            operation      text        NOT NULL,
            requests       integer     NOT NULL DEFAULT 1,
            items          integer     NOT NULL DEFAULT 0,
            input_tokens   bigint      NOT NULL DEFAULT 0,
            output_tokens  bigint      NOT NULL DEFAULT 0,
            cost_usd       numeric(12, 6) NOT NULL DEFAULT 0,
            duration_ms    double precision NOT NULL DEFAULT 0,
            status         text        NOT NULL CHECK (status IN ('ok', 'error')),
            error          text,
            dagster_run_id text
        );
        CREATE INDEX ai_usage_created_idx ON app.ai_usage (created_at);
        CREATE INDEX ai_usage_provider_idx ON app.ai_usage (provider, model, created_at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE app.ai_usage;
        DROP TABLE app.embedding_spaces;
        DROP SCHEMA embeddings CASCADE;
        """
    )
