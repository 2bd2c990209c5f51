-- One row per ticket: the support days of its events (in var('ticket_time_zone')), its times in
-- hours and whether it met its priority's SLA targets (seed ticket_sla_targets). Nothing is
-- invented: a missing timestamp leaves its day, hours and SLA outcome NULL.
-- A table, not a view: the ask service reads it per ticket for counts, medians and p90 over any
-- period and filter, and the ticket marts read it once per build.
{{ config(
    materialized='table',
    indexes=[
        {'columns': ['source', 'ticket_id'], 'unique': True},
        {'columns': ['source', 'created_day']},
        {'columns': ['source', 'resolved_day']},
    ],
) }}

with tickets as (
    select * from {{ ref('stg_tickets__tickets') }}
),

targets as (
    select * from {{ ref('ticket_sla_targets') }}
),

timed as (
    select
        tickets.source,
        tickets.ticket_id,
        tickets.priority,
        tickets.status,
        tickets.channel,
        tickets.category,
        tickets.created_at,
        tickets.first_response_at,
        tickets.resolved_at,
        {{ ticket_day('tickets.created_at') }} as created_day,
        {{ ticket_day('tickets.first_response_at') }} as first_response_day,
        {{ ticket_day('tickets.resolved_at') }} as resolved_day,
        {{ hours_between('tickets.created_at', 'tickets.first_response_at') }} as first_response_hours,
        {{ hours_between('tickets.created_at', 'tickets.resolved_at') }} as resolution_hours,
        targets.first_response_hours as first_response_target_hours,
        targets.resolution_hours as resolution_target_hours,
        tickets.created_at + targets.resolution_hours * interval '1 hour' as resolution_due_at
    from tickets
    left join targets
        on tickets.priority = targets.priority
)

select
    *,
    -- Met when the time is at most the target; NULL when the time or the target is unknown.
    first_response_hours <= first_response_target_hours as met_first_response_target,
    resolution_hours <= resolution_target_hours as met_resolution_target,
    -- From this day's end on, an unresolved ticket is past its resolution target.
    {{ ticket_day('resolution_due_at') }} as resolution_due_day
from timed
