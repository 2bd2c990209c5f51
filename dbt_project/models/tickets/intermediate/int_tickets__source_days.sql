-- Every day of each ticket source, from its first to its last event day (created, first
-- response or resolution), so days without events still carry the backlog.
with tickets as (
    select * from {{ ref('int_tickets__ticket_times') }}
),

bounds as (
    select
        source,
        -- least/greatest skip NULLs: a source without creation times spans its other events.
        least(min(created_day), min(first_response_day), min(resolved_day)) as first_day,
        greatest(max(created_day), max(first_response_day), max(resolved_day)) as last_day,
        bool_or(created_at is not null) as source_reports_created_at
    from tickets
    group by source
)

select
    source,
    generate_series(first_day, last_day, interval '1 day')::date as date_day,
    source_reports_created_at
from bounds
where first_day is not null
