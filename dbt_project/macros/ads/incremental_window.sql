{#
  The one lookback boundary (exclusive): the window is the days `> boundary`, i.e. the last
  `lookback_days` days up to and including today. Used by the fact's reprocessing and by its
  post-hook. (The tests of an incremental build need no boundary: they check the rows the build
  wrote, by `built_at`.) `lookback_days` has no default here: Dagster always passes it.
#}
{% macro lookback_boundary() -%}
    current_date - {{ var('lookback_days') }} - 1
{%- endmacro %}

{#
  Staging rows an incremental build of the fact (`fact`) reprocesses: every row loaded since its
  newest row (less an overlap for loads still committing: a load stamps its rows when its
  transaction starts) and the lookback window. The fact reads through it, and so do the staging
  tests, which run before the fact is built.
#}
{% macro loaded_since_last_build(fact) -%}
extracted_at > (select coalesce(max(extracted_at), '-infinity') from {{ fact }})
    - interval '{{ var("load_overlap_hours") }} hours'
or date_day > {{ lookback_boundary() }}
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
