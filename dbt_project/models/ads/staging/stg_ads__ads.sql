select
    platform,
    account_id,
    ad_group_id,
    ad_id,
    ad_type,
    headlines ->> 0 as headline,
    headlines,
    descriptions,
    final_url,
    status as ad_status
from {{ source('raw', 'ads') }}
