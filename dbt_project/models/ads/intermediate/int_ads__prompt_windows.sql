-- One row per account and prompt window: the last `window_days` days ending at the account's
-- latest data date (not today: an account that stopped spending still gets its last weeks), and
-- the window of the same length just before it, for comparisons.
with latest as (
    select platform, account_id, max(date_day) as window_end
    from {{ ref('int_ads__daily_facts') }}
    group by platform, account_id
),

windows as (
    select window_days
    from unnest(array[{{ var('prompt_windows') | join(', ') }}]) as window_days
)

select
    latest.platform,
    latest.account_id,
    windows.window_days,
    latest.window_end - windows.window_days + 1 as window_start,
    latest.window_end,
    latest.window_end - 2 * windows.window_days + 1 as previous_window_start
from latest
cross join windows
