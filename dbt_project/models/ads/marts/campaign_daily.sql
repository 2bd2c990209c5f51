-- Campaign x day: all of the campaign's rows (its ads and what the platform reports beyond them),
-- so totals equal the platform's campaign report. Ratios of sums, computed last.
with summed as (
    select
        platform,
        account_id,
        campaign_id,
        date_day,
        {{ summed_metrics() }},
        bool_or(is_provisional) as is_provisional,
        max(extracted_at) as extracted_at
    from {{ ref('int_ads__daily_facts') }}
    group by platform, account_id, campaign_id, date_day
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
    summed.date_day,
    {{ additive_metrics() }},
    {{ ratio_metrics() }},
    summed.is_provisional,
    summed.extracted_at
from summed
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
left join {{ ref('stg_ads__campaigns') }} as campaigns using (platform, account_id, campaign_id)
