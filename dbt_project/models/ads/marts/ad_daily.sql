-- Ad x day, with the names of the ad's campaign and ad group. Campaigns without ads (Performance
-- Max, ...) have no rows here: campaign_daily carries their totals.
with metrics as (
    select * from {{ ref('stg_ads__ad_daily_metrics') }}
),

accounts as (
    select * from {{ ref('stg_ads__accounts') }}
)

select
    metrics.platform,
    metrics.account_id,
    accounts.account_name,
    accounts.currency_code,
    metrics.campaign_id,
    campaigns.campaign_name,
    metrics.ad_group_id,
    ad_groups.ad_group_name,
    metrics.ad_id,
    ads.headline,
    ads.ad_status,
    metrics.date_day,
    metrics.impressions,
    metrics.clicks,
    metrics.cost,
    metrics.conversions,
    metrics.conversion_value,
    {{ ratio_metrics() }},
    {{ is_provisional('metrics.date_day', 'metrics.extracted_at', 'accounts.time_zone') }} as is_provisional,
    metrics.extracted_at
from metrics
inner join accounts
    on metrics.platform = accounts.platform and metrics.account_id = accounts.account_id
left join {{ ref('stg_ads__campaigns') }} as campaigns
    on metrics.platform = campaigns.platform and metrics.account_id = campaigns.account_id
    and metrics.campaign_id = campaigns.campaign_id
left join {{ ref('stg_ads__ad_groups') }} as ad_groups
    on metrics.platform = ad_groups.platform and metrics.account_id = ad_groups.account_id
    and metrics.ad_group_id = ad_groups.ad_group_id
left join {{ ref('stg_ads__ads') }} as ads
    on metrics.platform = ads.platform and metrics.account_id = ads.account_id
    and metrics.ad_group_id = ads.ad_group_id and metrics.ad_id = ads.ad_id
