-- Account x day: every row of the account's fact, ratios re-derived.
with summed as (
    {{ summed_daily_facts(['platform', 'account_id']) }}
)

select
    summed.platform,
    summed.account_id,
    accounts.account_name,
    accounts.currency_code,
    {{ daily_mart_metrics('summed') }}
from summed
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
