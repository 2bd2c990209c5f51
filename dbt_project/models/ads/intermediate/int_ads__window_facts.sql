-- Fact rows inside each account's prompt windows (a row is in both the 7- and the 30-day window).
select
    windows.window_days,
    windows.window_start,
    windows.window_end,
    facts.*
from {{ ref('int_ads__daily_facts') }} as facts
inner join {{ ref('int_ads__prompt_windows') }} as windows
    on facts.platform = windows.platform
    and facts.account_id = windows.account_id
    and facts.date_day between windows.window_start and windows.window_end
