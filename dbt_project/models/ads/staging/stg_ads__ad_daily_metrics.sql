-- One row per (platform, account, ad group, ad, day); cost from micros to the account currency.
select
    platform,
    account_id,
    campaign_id,
    ad_group_id,
    ad_id,
    date as date_day,
    impressions,
    clicks,
    {{ micros_to_currency("cost_micros") }} as cost,
    conversions,
    conversions_value as conversion_value,
    _extracted_at as extracted_at
from {{ source('raw', 'ad_daily_metrics') }}
