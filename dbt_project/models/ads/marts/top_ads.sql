-- For prompts: the top ads by spend within each top ad group, per window.
{{ config(materialized='table') }}

with top as (
    {{ top_by_spend(
        ['campaign_id', 'ad_group_id', 'ad_id'], ['campaign_id', 'ad_group_id'], 'top_ad_groups', grains=['ad']
    ) }}
)

select
    top.*,
    ad_groups.ad_group_name,
    ads.ad_type,
    ads.headline,
    ads.headlines,
    ads.descriptions,
    ads.final_url,
    ads.ad_status
from top
left join {{ ref('stg_ads__ad_groups') }} as ad_groups using (platform, account_id, ad_group_id)
left join {{ ref('stg_ads__ads') }} as ads using (platform, account_id, ad_group_id, ad_id)
