-- Ad group x day: sums of its ads' rows, ratios re-derived.
with summed as (
    select
        platform,
        account_id,
        campaign_id,
        ad_group_id,
        date_day,
        {{ summed_metrics() }},
        bool_or(is_provisional) as is_provisional,
        max(extracted_at) as extracted_at
    from {{ ref('int_ads__daily_facts') }}
    where grain = 'ad'
    group by platform, account_id, campaign_id, ad_group_id, date_day
)

select
    summed.platform,
    summed.account_id,
    accounts.account_name,
    accounts.currency_code,
    summed.campaign_id,
    campaigns.campaign_name,
    summed.ad_group_id,
    ad_groups.ad_group_name,
    ad_groups.ad_group_status,
    summed.date_day,
    {{ additive_metrics() }},
    {{ ratio_metrics() }},
    summed.is_provisional,
    summed.extracted_at
from summed
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
left join {{ ref('stg_ads__campaigns') }} as campaigns using (platform, account_id, campaign_id)
left join {{ ref('stg_ads__ad_groups') }} as ad_groups using (platform, account_id, ad_group_id)
