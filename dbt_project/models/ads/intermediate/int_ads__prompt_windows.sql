-- One row per account and prompt window: the last `window_days` days ending at the account's
-- latest data date (not today: an account that stopped spending still gets its last weeks), and
-- the window of the same length just before it, for comparisons.
-- Each account's latest day is one backward step of the fact's (platform, account_id, date_day)
-- index, not a scan of its history. (Every fact row's account is in stg_ads__accounts: an error
-- test on the fact says so.)
with latest as (
    select
        accounts.platform,
        accounts.account_id,
        last_day.window_end
    from {{ ref('stg_ads__accounts') }} as accounts
    cross join
        lateral (
            select max(facts.date_day) as window_end
            from {{ ref('int_ads__daily_facts') }} as facts
            where facts.platform = accounts.platform and facts.account_id = accounts.account_id
        ) as last_day
    where last_day.window_end is not null
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
