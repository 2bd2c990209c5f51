-- Tickets per source x day x breakdown: see _marts.yml.
{{ ticket_period_mart('day') }}
