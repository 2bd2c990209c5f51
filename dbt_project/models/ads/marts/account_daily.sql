-- Account x day: sums of the campaign grain (which includes campaigns without ads), ratios re-derived.
with summed as (
    select
        platform,
        account_id,
        account_name,
        currency_code,
        date_day,
        {{ summed_metrics() }},
        bool_or(is_provisional) as is_provisional,
        max(extracted_at) as extracted_at
    from {{ ref('campaign_daily') }}
    group by platform, account_id, account_name, currency_code, date_day
)

select
    *,
    {{ ratio_metrics() }}
from summed
