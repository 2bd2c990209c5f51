-- Ad x day, with the latest names of the ad, its ad group and campaign. Campaign-level metrics
-- not attributed to an ad (all of Performance Max) are in campaign_daily, not here.
select
    facts.platform,
    facts.account_id,
    accounts.account_name,
    accounts.currency_code,
    facts.campaign_id,
    campaigns.campaign_name,
    facts.ad_group_id,
    ad_groups.ad_group_name,
    facts.ad_id,
    ads.headline,
    ads.ad_status,
    {{ daily_mart_metrics('facts') }}
from {{ ref('int_ads__daily_facts') }} as facts
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
left join {{ ref('stg_ads__campaigns') }} as campaigns using (platform, account_id, campaign_id)
left join {{ ref('stg_ads__ad_groups') }} as ad_groups using (platform, account_id, ad_group_id)
left join {{ ref('stg_ads__ads') }} as ads using (platform, account_id, ad_group_id, ad_id)
where facts.grain = 'ad'
