{#
  The canonical daily fact: one row per (platform, account, campaign, ad group, ad, day) with the
  additive metrics only. Rows with grain = 'ad_group' (ad_id NULL) are what an ad group reports without
  ads (an ad-set export; raw.ad_daily_metrics holds them with ad_id ''). Rows with grain = 'campaign'
  (ad_group_id and ad_id NULL) hold what the
  platform reports for a campaign beyond its ads: all of a campaign without ad rows (Performance
  Max, ...), and any remainder of one whose ads do not add up to its campaign total. Summing any
  grain therefore gives the platform's own campaign and account totals.

  Incremental: each run deletes and re-inserts whole account-days: every day a load touched
  since the last build (with an overlap for loads still committing) plus the last `lookback_days`
  (the refresh's lookback, passed by Dagster). Replacing account-days, not merging row by row,
  also removes rows that vanished from the source (an ad now reported under another ad group);
  the post-hook removes account-days in the lookback window that raw no longer has at all (a
  pre-hook would lower max(extracted_at) and so reprocess everything).
  `dbt build --full-refresh` rebuilds it from scratch with identical results.

  `built_at` is the time of the build that last wrote the row (one value per build): the tests of
  an incremental build check exactly the rows and account-days it wrote (testing/get_where_subquery.sql).
  Indexes on it, on date_day (and its week and month, as the rollup views compute them) and on
  extracted_at keep those filters, windows by day and the next build's "loaded since" off the
  full history.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'account_id', 'date_day'],
    on_schema_change='append_new_columns',
    post_hook=[
        "{% if is_incremental() %}{{ delete_vanished_account_days() }}{% endif %}",
        "create index if not exists int_ads__daily_facts_built_at on {{ this }} (built_at, date_day)",
        "create index if not exists int_ads__daily_facts_date_day on {{ this }} (date_day)",
        "create index if not exists int_ads__daily_facts_extracted_at on {{ this }} (extracted_at)",
        "create index if not exists int_ads__daily_facts_week on {{ this }} ((date_trunc('week', date_day::timestamp)::date))",
        "create index if not exists int_ads__daily_facts_month on {{ this }} ((date_trunc('month', date_day::timestamp)::date))",
    ],
    indexes=[{'columns': ['platform', 'account_id', 'date_day']}],
) }}

with
{% if is_incremental() %}
{#- Read from the staging models, not the CTEs below: a CTE referenced twice is materialized
    whole (the full history, sorted on disk) instead of being filtered first. #}
{% set since = loaded_since_last_build(this) %}
{% set first_day = first_day_to_reprocess(since) %}
days_to_process as (
    select platform, account_id, date_day from {{ ref('stg_ads__ad_daily_metrics') }}
    where {{ since }}
    union
    select platform, account_id, date_day from {{ ref('stg_ads__campaign_daily_metrics') }}
    where {{ since }}
),
{% endif %}

ad_metrics as (
    select * from {{ ref('stg_ads__ad_daily_metrics') }}
),

campaign_metrics as (
    select * from {{ ref('stg_ads__campaign_daily_metrics') }}
),

{% for rows, metrics in [('ad_rows', 'ad_metrics'), ('campaign_rows', 'campaign_metrics')] %}
{{ rows }} as (
    select {{ metrics }}.*
    from {{ metrics }}
    {% if is_incremental() %}
    inner join days_to_process using (platform, account_id, date_day)
    -- Redundant, but it lets PostgreSQL drop the untouched history before the join, not after.
    where {{ metrics }}.date_day >= {{ first_day }}
    {% endif %}
),
{% endfor %}

ads_per_campaign as (
    select
        platform,
        account_id,
        campaign_id,
        date_day,
        {{ summed_metrics() }},
        max(extracted_at) as extracted_at
    from ad_rows
    group by platform, account_id, campaign_id, date_day
),

-- What the campaign reports beyond its ads (everything, for a campaign without ad rows).
unattributed as (
    select
        campaign_rows.platform,
        campaign_rows.account_id,
        campaign_rows.campaign_id,
        null::text as ad_group_id,
        null::text as ad_id,
        campaign_rows.date_day,
        'campaign' as grain,
        {% for metric in ad_metric_names() -%}
        campaign_rows.{{ metric }} - coalesce(ads_per_campaign.{{ metric }}, 0) as {{ metric }},
        {% endfor -%}
        greatest(campaign_rows.extracted_at, ads_per_campaign.extracted_at) as extracted_at
    from campaign_rows
    left join ads_per_campaign using (platform, account_id, campaign_id, date_day)
    where ads_per_campaign.campaign_id is null
        or (
            campaign_rows.impressions, campaign_rows.clicks, campaign_rows.cost, campaign_rows.conversions,
            campaign_rows.conversion_value
        ) is distinct from (
            ads_per_campaign.impressions, ads_per_campaign.clicks, ads_per_campaign.cost,
            ads_per_campaign.conversions, ads_per_campaign.conversion_value
        )
),

facts as (
    -- An ad row without an ad (ad_id '', from an export at ad-group grain) is the ad group's own.
    select
        platform, account_id, campaign_id, ad_group_id, nullif(ad_id, '') as ad_id, date_day,
        case when ad_id = '' then 'ad_group' else 'ad' end as grain,
        {{ additive_metrics() }},
        extracted_at
    from ad_rows
    union all
    select
        platform, account_id, campaign_id, ad_group_id, ad_id, date_day, grain,
        {{ additive_metrics() }},
        extracted_at
    from unattributed
)

select
    facts.*,
    {{ is_provisional('facts.date_day', 'facts.extracted_at', "coalesce(accounts.time_zone, 'UTC')") }}
        as is_provisional,
    now() as built_at
from facts
-- A left join: a fact never disappears for want of its account row (a test flags that instead).
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
