-- Ad group x day: sums of its ads' rows and of its own (an export at ad-group grain), ratios re-derived.
with summed as (
    {{ summed_daily_facts(
        ['platform', 'account_id', 'campaign_id', 'ad_group_id'], where="grain in ('ad', 'ad_group')"
    ) }}
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
    {{ daily_mart_metrics('summed') }}
from summed
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
left join {{ ref('stg_ads__campaigns') }} as campaigns using (platform, account_id, campaign_id)
left join {{ ref('stg_ads__ad_groups') }} as ad_groups using (platform, account_id, ad_group_id)
