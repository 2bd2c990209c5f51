-- Fact rows inside each account's prompt windows (a row is in both the 7- and the 30-day window).
-- A lateral join: one range scan of the fact's (platform, account_id, date_day) index per account
-- and window, whatever the length of the history. `offset 0` keeps it one: without it PostgreSQL
-- pulls the subquery up into a plain join and hashes the whole fact (0.57 s instead of 0.06 s at
-- 20 accounts x 2 years, and growing with history).
select
    windows.window_days,
    windows.window_start,
    windows.window_end,
    facts.*
from {{ ref('int_ads__prompt_windows') }} as windows
cross join lateral (
    select window_rows.*
    from {{ ref('int_ads__daily_facts') }} as window_rows
    where
        window_rows.platform = windows.platform
        and window_rows.account_id = windows.account_id
        and window_rows.date_day between windows.window_start and windows.window_end
    offset 0  -- noqa: AM09
) as facts
