select
    platform,
    account_id,
    campaign_id,
    ad_group_id,
    name as ad_group_name,
    status as ad_group_status
from {{ source('raw', 'ad_groups') }}
