-- Campaign x week (week start, Monday): sums of campaign_daily, ratios re-derived from the sums.
{%- set keys = [
    'platform', 'account_id', 'account_name', 'currency_code',
    'campaign_id', 'campaign_name', 'campaign_status', 'channel_type',
] %}
{{ period_rollup('campaign_daily', keys, 'week') }}
