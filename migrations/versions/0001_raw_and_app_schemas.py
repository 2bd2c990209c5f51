"""raw and app schemas: canonical source tables, quarantine, accounts, refresh jobs, interactions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

`raw` keeps what sources said, typed but unmodified (cost stays in micros as sent). Every table
carries `source` (google_ads_api, demo, csv:<file>, ...) so file imports share the same tables.
Natural keys are primary keys, so loaders upsert and reruns never duplicate.
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


UPGRADE = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS app;
CREATE SCHEMA IF NOT EXISTS analytics;

-- Registered ad accounts: what we extract, and when we last did.
CREATE TABLE app.ad_accounts (
    platform           text        NOT NULL,
    account_id         text        NOT NULL,
    name               text,
    currency_code      text,
    time_zone          text,
    is_active          boolean     NOT NULL DEFAULT true,
    last_refreshed_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, account_id)
);

CREATE TABLE app.refresh_jobs (
    id             bigserial   PRIMARY KEY,
    platform       text        NOT NULL,
    account_id     text        NOT NULL,
    status         text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    days_lookback  integer     NOT NULL,
    started_at     timestamptz,
    completed_at   timestamptz,
    error_message  text,
    dagster_run_id text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (platform, account_id) REFERENCES app.ad_accounts (platform, account_id)
);
CREATE INDEX refresh_jobs_account_idx ON app.refresh_jobs (platform, account_id, created_at DESC);

-- Every question asked and what was answered, with the facts used (traceability).
CREATE TABLE app.interactions (
    id             bigserial   PRIMARY KEY,
    platform       text        NOT NULL,
    account_id     text        NOT NULL,
    question       text        NOT NULL,
    answer         text        NOT NULL,
    route          text        NOT NULL,
    facts          jsonb       NOT NULL DEFAULT '[]'::jsonb,
    data_freshness jsonb,
    provider       text,
    cost_usd       numeric(12, 6) NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE raw.customers (
    platform       text        NOT NULL,
    account_id     text        NOT NULL,
    name           text,
    currency_code  text        NOT NULL,
    time_zone      text        NOT NULL,
    source         text        NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, account_id)
);

CREATE TABLE raw.campaigns (
    platform       text        NOT NULL,
    account_id     text        NOT NULL,
    campaign_id    text        NOT NULL,
    name           text,
    status         text,
    channel_type   text,
    start_date     date,
    end_date       date,
    source         text        NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, account_id, campaign_id)
);

CREATE TABLE raw.ad_groups (
    platform       text        NOT NULL,
    account_id     text        NOT NULL,
    campaign_id    text        NOT NULL,
    ad_group_id    text        NOT NULL,
    name           text,
    status         text,
    source         text        NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, account_id, ad_group_id)
);

CREATE TABLE raw.ads (
    platform       text        NOT NULL,
    account_id     text        NOT NULL,
    ad_group_id    text        NOT NULL,
    ad_id          text        NOT NULL,
    ad_type        text,
    headlines      jsonb       NOT NULL DEFAULT '[]'::jsonb,
    descriptions   jsonb       NOT NULL DEFAULT '[]'::jsonb,
    final_url      text,
    status         text,
    source         text        NOT NULL,
    _loaded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, account_id, ad_group_id, ad_id)
);

-- Daily metrics at ad grain (segments.date x ad_group_ad).
CREATE TABLE raw.ad_daily_metrics (
    platform          text        NOT NULL,
    account_id        text        NOT NULL,
    campaign_id       text        NOT NULL,
    ad_group_id       text        NOT NULL,
    ad_id             text        NOT NULL,
    date              date        NOT NULL,
    impressions       bigint      NOT NULL,
    clicks            bigint      NOT NULL,
    cost_micros       bigint      NOT NULL,
    conversions       numeric     NOT NULL,
    conversions_value numeric     NOT NULL,
    source            text        NOT NULL,
    _extracted_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, account_id, ad_group_id, ad_id, date)
);

-- Daily metrics at campaign grain: the authoritative campaign/account totals, including
-- campaigns (Performance Max, ...) that have no ad rows.
CREATE TABLE raw.campaign_daily_metrics (
    platform          text        NOT NULL,
    account_id        text        NOT NULL,
    campaign_id       text        NOT NULL,
    date              date        NOT NULL,
    impressions       bigint      NOT NULL,
    clicks            bigint      NOT NULL,
    cost_micros       bigint      NOT NULL,
    conversions       numeric     NOT NULL,
    conversions_value numeric     NOT NULL,
    source            text        NOT NULL,
    _extracted_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, account_id, campaign_id, date)
);

CREATE TABLE raw.tickets (
    source             text        NOT NULL,
    ticket_id          text        NOT NULL,
    subject            text,
    description        text,
    priority           text        CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    priority_raw       text,
    status             text,
    channel            text,
    category           text,
    created_at         timestamptz NOT NULL,
    first_response_at  timestamptz,
    resolved_at        timestamptz,
    _loaded_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, ticket_id)
);

CREATE TABLE raw.ticket_comments (
    source      text        NOT NULL,
    ticket_id   text        NOT NULL,
    comment_id  text        NOT NULL,
    author      text,
    body        text,
    created_at  timestamptz NOT NULL,
    _loaded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, ticket_id, comment_id),
    FOREIGN KEY (source, ticket_id) REFERENCES raw.tickets (source, ticket_id) ON DELETE CASCADE
);

-- Rows a loader rejected: never silently dropped.
CREATE TABLE raw.quarantine (
    id              bigserial   PRIMARY KEY,
    source          text        NOT NULL,
    entity          text        NOT NULL,
    file            text,
    row_number      integer,
    reason          text        NOT NULL,
    payload         jsonb       NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now()
);
"""

# The `app` schema stays: it holds Alembic's own version table.
DOWNGRADE = """
DROP SCHEMA IF EXISTS raw CASCADE;
DROP TABLE IF EXISTS app.interactions, app.refresh_jobs, app.ad_accounts;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
