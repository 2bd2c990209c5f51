-- Campaign x day: all of the campaign's rows (its ads and what the platform reports beyond them),
-- so totals equal the platform's campaign report. Ratios of sums, computed last.
with summed as (
    {{ summed_daily_facts(['platform', 'account_id', 'campaign_id']) }}
)

select
    summed.platform,
    summed.account_id,
    accounts.account_name,
    accounts.currency_code,
    summed.campaign_id,
    campaigns.campaign_name,
    campaigns.campaign_status,
    campaigns.channel_type,
    {{ daily_mart_metrics('summed') }}
from summed
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
left join {{ ref('stg_ads__campaigns') }} as campaigns using (platform, account_id, campaign_id)
