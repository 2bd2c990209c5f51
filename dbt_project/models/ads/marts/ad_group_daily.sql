-- Ad group x day: sums of ad_daily, ratios re-derived.
with summed as (
    select
        platform,
        account_id,
        account_name,
        currency_code,
        campaign_id,
        campaign_name,
        ad_group_id,
        ad_group_name,
        date_day,
        {{ summed_metrics() }},
        bool_or(is_provisional) as is_provisional,
        max(extracted_at) as extracted_at
    from {{ ref('ad_daily') }}
    group by platform, account_id, account_name, currency_code, campaign_id, campaign_name, ad_group_id,
        ad_group_name, date_day
)

select
    *,
    {{ ratio_metrics() }}
from summed
