-- Open tickets at each day's end per (source, breakdown, breakdown_value), dense over the source's
-- days: +1 the day a ticket opens, -1 the day it is resolved, summed up to the day. A ticket is
-- open at a day's end when created on or before that day and not resolved by its end.
with tickets as (
    select * from {{ ref('int_tickets__ticket_breakdowns') }}
),

days as (
    select * from {{ ref('int_tickets__source_days') }}
),

groups as (
    select
        source,
        breakdown,
        breakdown_value,
        count(*) filter (where created_at is null) as tickets_without_created_at
    from tickets
    group by source, breakdown, breakdown_value
),

events as (
    -- Open from its creation day; a ticket resolved on its creation day is never open at a day's end.
    select
        source, breakdown, breakdown_value, created_day as date_day,
        1 as open_delta, 0 as past_target_delta, 0 as without_created_at_delta
    from tickets
    where created_day is not null and (resolved_day is null or resolved_day > created_day)
    -- The other branches take the first one's column names: their values stay unnamed, one line each.
    -- noqa: disable=AL03
    union all
    select source, breakdown, breakdown_value, resolved_day, -1, 0, 0
    from tickets
    where created_day is not null and resolved_day > created_day
    union all
    -- Past its resolution target from the end of the day the target passes, until resolved.
    select source, breakdown, breakdown_value, resolution_due_day, 0, 1, 0
    from tickets
    where resolution_due_day is not null and (resolved_day is null or resolved_day > resolution_due_day)
    union all
    select source, breakdown, breakdown_value, resolved_day, 0, -1, 0
    from tickets
    where resolution_due_day is not null and resolved_day > resolution_due_day
    union all
    -- Tickets without a creation time might be open on any day until they are resolved.
    select source, breakdown, breakdown_value, resolved_day, 0, 0, -1
    from tickets
    where created_at is null and resolved_day is not null
    -- noqa: enable=AL03
),

daily_deltas as (
    select
        source,
        breakdown,
        breakdown_value,
        date_day,
        sum(open_delta) as open_delta,
        sum(past_target_delta) as past_target_delta,
        sum(without_created_at_delta) as without_created_at_delta
    from events
    group by source, breakdown, breakdown_value, date_day
)

select
    groups.source,
    groups.breakdown,
    groups.breakdown_value,
    days.date_day,
    days.source_reports_created_at,
    sum(coalesce(daily_deltas.open_delta, 0)) over running as open_tickets,
    sum(coalesce(daily_deltas.past_target_delta, 0)) over running as open_past_resolution_target,
    groups.tickets_without_created_at + sum(coalesce(daily_deltas.without_created_at_delta, 0)) over running
        as unresolved_without_created_at
from groups
inner join days
    on groups.source = days.source
left join daily_deltas
    on groups.source = daily_deltas.source
    and groups.breakdown = daily_deltas.breakdown
    and groups.breakdown_value = daily_deltas.breakdown_value
    and days.date_day = daily_deltas.date_day
window running as (
    partition by groups.source, groups.breakdown, groups.breakdown_value
    order by days.date_day
    rows between unbounded preceding and current row
)
