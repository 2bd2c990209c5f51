-- An ad group's own row (ad_id '', from an ad-set export) beside ad rows of the same ad group and day
-- (an ad export of the same account) would be counted twice in every total. This test fails the
-- build before the daily fact reads them (the fact keeps its last good numbers). Fix: undo one of
-- the two imports (`burry import list`, then `burry import undo ID`) and refresh the marts.
select
    group_rows.platform,
    group_rows.account_id,
    group_rows.ad_group_id,
    group_rows.date_day
from {{ ref('stg_ads__ad_daily_metrics') }} as group_rows
where
    group_rows.ad_id = ''
    and exists (
        select 1
        from {{ ref('stg_ads__ad_daily_metrics') }} as ad_rows
        where
            ad_rows.platform = group_rows.platform
            and ad_rows.account_id = group_rows.account_id
            and ad_rows.ad_group_id = group_rows.ad_group_id
            and ad_rows.date_day = group_rows.date_day
            and ad_rows.ad_id <> ''
    )
