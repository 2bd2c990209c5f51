-- For prompts: each account's top campaigns by spend in its 7- and 30-day windows.
{{ config(materialized='table') }}

with top as (
    {{ top_by_spend(['campaign_id']) }}
)

select
    top.*,
    accounts.account_name,
    accounts.currency_code,
    campaigns.campaign_name,
    campaigns.campaign_status,
    campaigns.channel_type
from top
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
left join {{ ref('stg_ads__campaigns') }} as campaigns using (platform, account_id, campaign_id)
