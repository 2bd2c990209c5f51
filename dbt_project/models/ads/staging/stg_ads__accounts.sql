select
    platform,
    account_id,
    name as account_name,
    currency_code,
    time_zone
from {{ source('raw', 'customers') }}
