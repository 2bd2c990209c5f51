-- Each ticket once per breakdown: 'all', and its priority, status, channel and category. Missing
-- values become '(not set)' so every ticket is counted in every breakdown. Status is the ticket's
-- current status, not the one it had on a past day.
with tickets as (
    select * from {{ ref('int_tickets__ticket_times') }}
)

select
    tickets.*,
    breakdowns.breakdown,
    breakdowns.breakdown_value
from tickets
cross join lateral (
    values
    ('all', 'all'),
    ('priority', coalesce(tickets.priority, '(not set)')),
    ('status', coalesce(tickets.status, '(not set)')),
    ('channel', coalesce(tickets.channel, '(not set)')),
    ('category', coalesce(tickets.category, '(not set)'))
) as breakdowns (breakdown, breakdown_value)
