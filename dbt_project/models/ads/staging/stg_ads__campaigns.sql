select
    platform,
    account_id,
    campaign_id,
    name as campaign_name,
    status as campaign_status,
    channel_type,
    start_date,
    end_date
from {{ source('raw', 'campaigns') }}
