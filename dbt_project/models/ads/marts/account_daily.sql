-- Account x day: sums of the campaign grain (which includes campaigns without ads), ratios re-derived.
with campaign_daily as (
    select * from {{ ref('campaign_daily') }}
),

summed as (
    select
        platform,
        account_id,
        account_name,
        currency_code,
        date_day,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(cost) as cost,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value,
        bool_or(is_provisional) as is_provisional,
        max(extracted_at) as extracted_at
    from campaign_daily
    group by platform, account_id, account_name, currency_code, date_day
)

select
    platform,
    account_id,
    account_name,
    currency_code,
    date_day,
    impressions,
    clicks,
    cost,
    conversions,
    conversion_value,
    {{ safe_ratio('clicks', 'impressions') }} as ctr,
    {{ safe_ratio('cost', 'clicks') }} as cpc,
    {{ safe_ratio('cost', 'conversions') }} as cpa,
    {{ safe_ratio('conversion_value', 'cost') }} as roas,
    is_provisional,
    extracted_at
from summed
