-- Account x day: every row of the account's fact, ratios re-derived.
with summed as (
    select
        platform,
        account_id,
        date_day,
        {{ summed_metrics() }},
        bool_or(is_provisional) as is_provisional,
        max(extracted_at) as extracted_at
    from {{ ref('int_ads__daily_facts') }}
    group by platform, account_id, date_day
)

select
    summed.platform,
    summed.account_id,
    accounts.account_name,
    accounts.currency_code,
    summed.date_day,
    {{ additive_metrics() }},
    {{ ratio_metrics() }},
    summed.is_provisional,
    summed.extracted_at
from summed
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
