{#
  The one lookback boundary (exclusive): the window is the days `> boundary`, i.e. the last
  `lookback_days` days up to and including `anchor`. The fact's reprocessing and its post-hook
  anchor at current_date; the mart tests' filter (testing/get_where_subquery.sql) anchors at the
  fact's newest day. `lookback_days` has no default here: Dagster always passes it.
#}
{% macro lookback_boundary(anchor='current_date') -%}
    {{ anchor }} - {{ var('lookback_days') }} - 1
{%- endmacro %}

{#
  For the post-hook of int_ads__daily_facts: account-days within the lookback window that have no
  raw rows left. delete+insert only replaces the keys it re-inserts, so nothing else removes them.
#}
{% macro delete_vanished_account_days() %}
    delete from {{ this }} as facts
    where facts.date_day > {{ lookback_boundary() }}
    {%- for metrics in ['stg_ads__ad_daily_metrics', 'stg_ads__campaign_daily_metrics'] %}
        and not exists (
            select from {{ ref(metrics) }} as raw_rows
            where raw_rows.platform = facts.platform
                and raw_rows.account_id = facts.account_id
                and raw_rows.date_day = facts.date_day
        )
    {%- endfor %}
{% endmacro %}
