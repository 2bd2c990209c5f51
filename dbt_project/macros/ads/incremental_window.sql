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
{#- The fact's newest load time, looked up here and inlined as a literal: behind a subquery the
    planner guesses a third of raw and, from ~3M rows, scans all of it instead of ORing the raw
    indexes on day and load time (migration 0011). The fact exists wherever this is used. -#}
{%- set newest = "(select coalesce(max(extracted_at), '-infinity') from " ~ fact ~ ")" -%}
{%- if execute -%}
    {%- set newest = newest_as_literal(fact, 'extracted_at') or "'-infinity'::timestamptz" -%}
{%- endif -%}
extracted_at > {{ newest }} - interval '{{ var("load_overlap_hours") }} hours'
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

{#
  The fact's first day to reprocess (the earliest day of the rows `since` selects), looked up
  when the fact is built and returned as a literal, so that PostgreSQL reads only the window of
  raw through its day index (behind a subquery it scanned all of raw). A load committing between
  this lookup and the build is re-read by the next build (load_overlap_hours).
#}
{% macro first_day_to_reprocess(since) %}
    {%- if not execute -%}
        {{ return("(select min(processed.date_day) from days_to_process as processed)") }}
    {%- endif -%}
    {%- set found = run_query(
        "select min(date_day) from (select date_day from " ~ ref('stg_ads__ad_daily_metrics') ~ " where " ~ since
        ~ " union all select date_day from " ~ ref('stg_ads__campaign_daily_metrics') ~ " where " ~ since
        ~ ") as loaded"
    ) -%}
    {%- set day = found.columns[0].values()[0] -%}
    {{ return(("'" ~ day ~ "'::date") if day is not none else "'infinity'::date") }}
{% endmacro %}

{# max(`column`) of `relation`, a timestamp, as a literal for the planner (`to_timestamp(<epoch>)`;
   microseconds may round: callers allow for it); none when the relation has no rows. #}
{% macro newest_as_literal(relation, column) %}
    {%- set epoch = run_query("select extract(epoch from max(" ~ column ~ ")) from " ~ relation).columns[0].values()[0] -%}
    {{ return(("to_timestamp(" ~ epoch ~ ")") if epoch is not none else none) }}
{% endmacro %}
