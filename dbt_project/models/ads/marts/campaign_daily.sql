-- Campaign x day: additive metrics as extracted, ratios of sums computed here, last.
with metrics as (
    select * from {{ ref('stg_ads__campaign_daily_metrics') }}
),

accounts as (
    select * from {{ ref('stg_ads__accounts') }}
),

campaigns as (
    select * from {{ ref('stg_ads__campaigns') }}
)

select
    metrics.platform,
    metrics.account_id,
    accounts.account_name,
    accounts.currency_code,
    metrics.campaign_id,
    campaigns.campaign_name,
    campaigns.campaign_status,
    campaigns.channel_type,
    metrics.date_day,
    metrics.impressions,
    metrics.clicks,
    metrics.cost,
    metrics.conversions,
    metrics.conversion_value,
    {{ ratio_metrics() }},
    -- Conversions inside the window can still arrive: the day's numbers are not final yet.
    {{ is_provisional('metrics.date_day', 'metrics.extracted_at', 'accounts.time_zone') }} as is_provisional,
    metrics.extracted_at
from metrics
inner join accounts
    on metrics.platform = accounts.platform
    and metrics.account_id = accounts.account_id
left join campaigns
    on metrics.platform = campaigns.platform
    and metrics.account_id = campaigns.account_id
    and metrics.campaign_id = campaigns.campaign_id
