-- For prompts: each account's totals in its 7- and 30-day windows (ending at its latest data
-- date), with the window of the same length before it. Previous figures are NULL, not 0, when
-- there is no data before the window.
{{ config(materialized='table') }}

{% set in_window = 'facts.date_day >= windows.window_start' %}
{% set in_previous = 'facts.date_day < windows.window_start' %}

with summed as (
    select
        windows.platform,
        windows.account_id,
        windows.window_days,
        windows.window_start,
        windows.window_end,
        {{ summed_metrics(where=in_window) }},
        count(distinct facts.date_day) filter (where {{ in_window }}) as days_with_data,
        count(distinct facts.date_day) filter (where {{ in_window }} and facts.is_provisional) as provisional_days,
        count(distinct facts.campaign_id) filter (where {{ in_window }} and facts.cost > 0) as campaigns_with_spend,
        count(distinct facts.date_day) filter (where {{ in_previous }}) as previous_days_with_data,
        {{ summed_metrics(where=in_previous, prefix='previous_') }}
    from {{ ref('int_ads__prompt_windows') }} as windows
    -- Lateral: a range scan of the fact's index per account and window, not a scan of history
    -- (`offset 0`: see int_ads__window_facts).
    cross join
        lateral (
            select window_rows.*
            from {{ ref('int_ads__daily_facts') }} as window_rows
            where
                window_rows.platform = windows.platform
                and window_rows.account_id = windows.account_id
                and window_rows.date_day between windows.previous_window_start and windows.window_end
            offset 0  -- noqa: AM09
        ) as facts
    group by windows.platform, windows.account_id, windows.window_days, windows.window_start, windows.window_end
)

select
    summed.*,
    accounts.account_name,
    accounts.currency_code,
    {{ ratio_metrics() }},
    {{ ratio_metrics(prefix='previous_') }}
from summed
left join {{ ref('stg_ads__accounts') }} as accounts using (platform, account_id)
