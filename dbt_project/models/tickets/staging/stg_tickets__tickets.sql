select
    source,
    ticket_id,
    subject,
    priority,
    priority_raw,
    status,
    status_raw,
    resolution,
    channel,
    category,
    created_at,
    first_response_at,
    resolved_at
from {{ source('raw', 'tickets') }}
