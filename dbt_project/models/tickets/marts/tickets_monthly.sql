-- Tickets per source x month x breakdown: counts by event month, time metrics from that month's
-- tickets (never from daily rows), backlog at the month's last covered day.
{{ ticket_period_mart('month') }}
