-- Account x week (week start, Monday): sums of account_daily, ratios re-derived from the sums.
{{ period_rollup('account_daily', ['platform', 'account_id', 'account_name', 'currency_code'], 'week') }}
