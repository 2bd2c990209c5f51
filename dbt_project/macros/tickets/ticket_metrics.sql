{# The support day of a timestamp: its calendar date in var('ticket_time_zone'). #}
{% macro ticket_day(column) -%}
    ({{ column }} at time zone '{{ var("ticket_time_zone") }}')::date
{%- endmacro %}

{# Hours from one timestamp to a later one; NULL when either is missing or the order is impossible. #}
{% macro hours_between(start_column, end_column) -%}
    case
        when {{ end_column }} >= {{ start_column }}
            then extract(epoch from {{ end_column }} - {{ start_column }}) / 3600
    end
{%- endmacro %}

{# Time-metric aggregates over ticket rows: the count timed, the sum, average, p50, p90 (linear
   interpolation, like numpy's default) and SLA counts. Always aggregated from tickets at the grain
   and period asked: percentiles cannot be derived from daily rows. #}
{% macro ticket_time_aggregates(metric, event) -%}
    count({{ metric }}_hours) as {{ event }}_timed,
    sum({{ metric }}_hours) as {{ metric }}_hours_sum,
    avg({{ metric }}_hours) as {{ metric }}_hours_avg,
    percentile_cont(0.5) within group (order by {{ metric }}_hours::float8) as {{ metric }}_hours_p50,
    percentile_cont(0.9) within group (order by {{ metric }}_hours::float8) as {{ metric }}_hours_p90,
    count(met_{{ metric }}_target) as {{ metric }}_sla_measured,
    count(*) filter (where met_{{ metric }}_target) as {{ metric }}_sla_met
{%- endmacro %}

{# Ticket metrics per (source, breakdown, breakdown_value) and period ('day', 'week' starting
   Monday, 'month'). Counts are by the day the event happened; time metrics come from the tickets
   whose event (first response, resolution) falls in the period; the backlog is the one at the end
   of the period's last covered day. #}
{% macro ticket_period_mart(period) -%}
{%- set period_column = 'date_day' if period == 'day' else period ~ '_start' -%}
{%- set keys = 'source, breakdown, breakdown_value' -%}
with tickets as (
    select * from {{ ref('int_tickets__ticket_breakdowns') }}
),

backlog as (
    select * from {{ ref('int_tickets__daily_backlog') }}
),

periods as (
    select
        {{ keys }},
        date_trunc('{{ period }}', date_day::timestamp)::date as period_start,
        count(*) as days_covered,
        max(date_day) as last_day,
        bool_and(source_reports_created_at) as source_reports_created_at
    from backlog
    group by {{ keys }}, date_trunc('{{ period }}', date_day::timestamp)
),

created as (
    select
        {{ keys }},
        date_trunc('{{ period }}', created_day::timestamp)::date as period_start,
        count(*) as tickets_created
    from tickets
    where created_day is not null
    group by {{ keys }}, date_trunc('{{ period }}', created_day::timestamp)
),

first_responses as (
    select
        {{ keys }},
        date_trunc('{{ period }}', first_response_day::timestamp)::date as period_start,
        count(*) as first_responses,
        count(*) filter (where created_at is null) as first_responses_without_created_at,
        {{ ticket_time_aggregates('first_response', 'first_responses') }}
    from tickets
    where first_response_day is not null
    group by {{ keys }}, date_trunc('{{ period }}', first_response_day::timestamp)
),

resolutions as (
    select
        {{ keys }},
        date_trunc('{{ period }}', resolved_day::timestamp)::date as period_start,
        count(*) as tickets_resolved,
        count(*) filter (where created_at is null) as resolved_without_created_at,
        {{ ticket_time_aggregates('resolution', 'resolutions') }}
    from tickets
    where resolved_day is not null
    group by {{ keys }}, date_trunc('{{ period }}', resolved_day::timestamp)
)

select
    periods.source,
    periods.breakdown,
    periods.breakdown_value,
    periods.period_start as {{ period_column }},
{%- if period != 'day' %}
    periods.days_covered,
    periods.last_day as backlog_as_of,
{%- endif %}
    -- A source that never says when tickets were opened has unknown, not zero, creations.
    case when periods.source_reports_created_at then coalesce(created.tickets_created, 0) end as tickets_created,
    coalesce(first_responses.first_responses, 0) as first_responses,
    coalesce(first_responses.first_responses_without_created_at, 0) as first_responses_without_created_at,
    coalesce(resolutions.tickets_resolved, 0) as tickets_resolved,
    coalesce(resolutions.resolved_without_created_at, 0) as resolved_without_created_at,
    -- Unknown (NULL) while a ticket without a creation time is unresolved: it may be in the backlog.
    case when backlog.unresolved_without_created_at = 0 then backlog.open_tickets end as open_backlog_at_end,
    case when backlog.unresolved_without_created_at = 0 then backlog.open_past_resolution_target end
        as open_backlog_past_resolution_target,
    backlog.unresolved_without_created_at,
    coalesce(first_responses.first_responses_timed, 0) as first_responses_timed,
    first_responses.first_response_hours_sum,
    first_responses.first_response_hours_avg,
    first_responses.first_response_hours_p50,
    first_responses.first_response_hours_p90,
    coalesce(first_responses.first_response_sla_measured, 0) as first_response_sla_measured,
    coalesce(first_responses.first_response_sla_met, 0) as first_response_sla_met,
    {{ safe_ratio('first_responses.first_response_sla_met', 'first_responses.first_response_sla_measured') }}
        as first_response_sla_share,
    coalesce(resolutions.resolutions_timed, 0) as resolutions_timed,
    resolutions.resolution_hours_sum,
    resolutions.resolution_hours_avg,
    resolutions.resolution_hours_p50,
    resolutions.resolution_hours_p90,
    coalesce(resolutions.resolution_sla_measured, 0) as resolution_sla_measured,
    coalesce(resolutions.resolution_sla_met, 0) as resolution_sla_met,
    {{ safe_ratio('resolutions.resolution_sla_met', 'resolutions.resolution_sla_measured') }}
        as resolution_sla_share
from periods
inner join backlog
    on periods.source = backlog.source
    and periods.breakdown = backlog.breakdown
    and periods.breakdown_value = backlog.breakdown_value
    and periods.last_day = backlog.date_day
left join created
    on periods.source = created.source
    and periods.breakdown = created.breakdown
    and periods.breakdown_value = created.breakdown_value
    and periods.period_start = created.period_start
left join first_responses
    on periods.source = first_responses.source
    and periods.breakdown = first_responses.breakdown
    and periods.breakdown_value = first_responses.breakdown_value
    and periods.period_start = first_responses.period_start
left join resolutions
    on periods.source = resolutions.source
    and periods.breakdown = resolutions.breakdown
    and periods.breakdown_value = resolutions.breakdown_value
    and periods.period_start = resolutions.period_start
{%- endmacro %}
