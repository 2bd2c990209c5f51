-- Tickets per source x week (Monday start) x breakdown: counts by event week, time metrics from that
-- week's tickets (never from daily rows), backlog at the week's last covered day.
{{ ticket_period_mart('week') }}
