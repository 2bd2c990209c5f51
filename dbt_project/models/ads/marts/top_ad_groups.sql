-- For prompts: the top ad groups by spend within each of the account's top campaigns, per window.
{{ config(materialized='table') }}

with top as (
    {{ top_by_spend(['campaign_id', 'ad_group_id'], ['campaign_id'], 'top_campaigns', grains=['ad', 'ad_group']) }}
)

select
    top.*,
    campaigns.campaign_name,
    ad_groups.ad_group_name,
    ad_groups.ad_group_status
from top
left join {{ ref('stg_ads__campaigns') }} as campaigns using (platform, account_id, campaign_id)
left join {{ ref('stg_ads__ad_groups') }} as ad_groups using (platform, account_id, ad_group_id)
