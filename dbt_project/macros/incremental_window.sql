{# The first day of the lookback window an incremental build re-processes (exclusive). #}
{% macro lookback_boundary() -%}
    current_date - {{ var('lookback_days') }} - 1
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
