# %% [markdown]
# # Ad spend and support load, from the marts
#
# A tour of what the pipeline builds, and the checks a data engineer runs before trusting it:
# the latest week against the one before, weekly spend and ROAS, the top campaigns a prompt
# quotes, support load by priority, and a reconciliation of the marts against the raw extracts.
#
# Percent-format notebook: open it in Jupyter (jupytext) or VS Code as cells, or run it headless
# with `.venv/bin/python notebooks/spend_and_support.py` after `make demo`. It reads the database
# the rest of Burry uses (`DATABASE_URL`, else the running embedded server) and never writes.
# It exits non-zero when the marts and raw disagree.

# %%
import sys

import pandas as pd
import psycopg2

from resources.database import resolve_database_url

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)
url = resolve_database_url()
print(f"database: {url.redacted()}")


def query(sql: str, params: dict | None = None) -> pd.DataFrame:
    with psycopg2.connect(url.libpq, application_name="burry-notebook") as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        # numeric columns arrive as exact Decimals: the reconciliation below compares them exactly.
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


# %% [markdown]
# ## Each account: last 7 days against the 7 before
# `account_overview` holds the windows prompts quote; ratios are ratios of sums (never averages).

# %%
overview = query("""
    SELECT account_name, currency_code, window_end, cost, previous_cost,
           round(100 * (cost / nullif(previous_cost, 0) - 1), 1) AS cost_change_pct,
           clicks, round(ctr, 4) AS ctr, round(cpc, 2) AS cpc, round(roas, 2) AS roas,
           provisional_days
    FROM analytics.account_overview
    WHERE window_days = 7
    ORDER BY cost DESC""")
print(overview.to_string(index=False))

# %% [markdown]
# ## Weekly spend and ROAS (weeks start Monday; the last may be partial or provisional)

# %%
weekly = query("""
    SELECT account_id, week_start, round(cost, 2) AS cost, round(roas, 2) AS roas, is_provisional
    FROM analytics.account_weekly
    WHERE week_start > (SELECT max(week_start) FROM analytics.account_weekly) - 8 * 7""")
print(weekly.pivot(index="week_start", columns="account_id", values="cost").to_string())
print()
print(weekly.pivot(index="week_start", columns="account_id", values="roas").to_string())

# %% [markdown]
# ## The top campaigns a 30-day prompt quotes

# %%
top = query("""
    SELECT account_name, spend_rank, campaign_name, channel_type, cost, clicks, round(roas, 2) AS roas
    FROM analytics.top_campaigns
    WHERE window_days = 30
    ORDER BY account_name, spend_rank""")
print(top.to_string(index=False))

# %% [markdown]
# ## Support load by priority, last four weeks
# Created and resolved tickets, backlog at the week's end, and the share of first responses and
# resolutions that met the priority's SLA (`dbt_project/seeds/ticket_sla_targets.csv`).

# %%
support = query("""
    SELECT source, breakdown_value AS priority, week_start, tickets_created, tickets_resolved,
           open_backlog_at_end, round(first_response_hours_p50::numeric, 1) AS first_response_p50_h,
           round(resolution_hours_p90::numeric, 1) AS resolution_p90_h,
           round(first_response_sla_share, 2) AS first_response_sla,
           round(resolution_sla_share, 2) AS resolution_sla
    FROM analytics.tickets_weekly
    WHERE breakdown = 'priority'
      AND week_start > (SELECT max(week_start) FROM analytics.tickets_weekly) - 4 * 7
    ORDER BY source, week_start, priority""")
print(support.to_string(index=False))

# %% [markdown]
# ## Reconciliation: marts against raw
# Every account's total cost, clicks and impressions in `account_daily` must equal the raw
# campaign-grain extract (cost from micros), and the ad grain must add up to the same totals.

# %%
reconciled = query("""
    WITH raw AS (
        SELECT platform, account_id, sum(cost_micros) / 1000000::numeric AS cost, sum(clicks) AS clicks,
               sum(impressions) AS impressions
        FROM raw.campaign_daily_metrics GROUP BY platform, account_id
    ), marts AS (
        SELECT platform, account_id, sum(cost) AS cost, sum(clicks) AS clicks, sum(impressions) AS impressions
        FROM analytics.account_daily GROUP BY platform, account_id
    ), ad_grain AS (
        SELECT platform, account_id, sum(cost) AS cost
        FROM analytics.int_ads__daily_facts GROUP BY platform, account_id
    )
    SELECT raw.platform, raw.account_id, raw.cost AS raw_cost, marts.cost AS mart_cost,
           ad_grain.cost AS fact_cost, raw.clicks AS raw_clicks, marts.clicks AS mart_clicks,
           raw.impressions AS raw_impressions, marts.impressions AS mart_impressions
    FROM raw
    FULL JOIN marts USING (platform, account_id)
    FULL JOIN ad_grain USING (platform, account_id)
    ORDER BY 1, 2""")
mismatched = reconciled[
    (reconciled.raw_cost != reconciled.mart_cost)
    | (reconciled.fact_cost != reconciled.mart_cost)
    | (reconciled.raw_clicks != reconciled.mart_clicks)
    | (reconciled.raw_impressions != reconciled.mart_impressions)
]
print(reconciled.to_string(index=False))
if len(mismatched):
    print(
        f"\nMISMATCH in {len(mismatched)} account(s): rebuild with `dbt build --full-refresh` "
        "(run config full_refresh: true) and look at the raw extract.",
        file=sys.stderr,
    )
    sys.exit(1)
print(f"\nreconciled: {len(reconciled)} account(s), marts equal raw")
