{#
  Tests on the ad models of an incremental build check what that build wrote (config
  `where: __reprocessed__`, set for models/ads in dbt_project.yml): the fact's rows with this
  build's `built_at`; in the mart views the days (weeks, months) from the first day those rows
  cover, days imported late included; in the staging metrics (tested before the fact is built)
  the rows the fact is about to reprocess. Rows a build did
  not touch were tested by the build that wrote them, so the 6-hourly build costs what its window
  costs, not what the history costs (bench/marts_refresh.py). The views are one SQL over every day,
  so a fault in their logic shows in the days just written as in old ones. A full refresh tests
  everything. Models without these columns (dimensions, the top-N tables) are tested whole.
  Overrides dbt's default__get_where_subquery (the documented hook for custom `where` logic).
#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__reprocessed__' -%}
        {%- set where = reprocessed_filter(relation) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{# The rows of `relation` this build wrote or derived; '' (all rows) on a full refresh or for a
   relation without a day, week or month column. #}
{% macro reprocessed_filter(relation) -%}
    {%- if flags.FULL_REFRESH -%}
        {{ return('') }}
    {%- endif -%}
    {%- set fact = relation.incorporate(path={"identifier": "int_ads__daily_facts"}) -%}
    {%- set this_build = "built_at = (select max(built_at) from " ~ fact ~ ")" -%}
    {%- set name = relation.identifier -%}
    {%- if not (name.endswith('_daily') or name.endswith('_weekly') or name.endswith('_monthly')
                or name.endswith('_daily_metrics') or name == 'int_ads__daily_facts') -%}
        {{ return('') }}
    {%- endif -%}
    {%- if execute and load_relation(fact) is none -%}
        {#- The first build: everything is new. -#}
        {{ return('') }}
    {%- endif -%}
    {%- if name == 'int_ads__daily_facts' -%}
        {#- As a literal (a millisecond early: the epoch is a float; builds are seconds apart):
            behind a subquery the planner guesses a third of the fact and, from ~3M rows, scans
            all of it instead of the built_at index. -#}
        {%- set newest = newest_as_literal(fact, 'built_at') if execute else none -%}
        {%- if newest is not none -%}
            {{ return("built_at >= " ~ newest ~ " - interval '1 millisecond'") }}
        {%- endif -%}
        {{ return(this_build) }}
    {%- elif name.endswith('_daily_metrics') -%}
        {#- Staging: tested before the fact is built, so what it is about to read. -#}
        {{ return(loaded_since_last_build(fact)) }}
    {%- endif -%}
    {#- Mart views: the periods from the first day this build wrote. A range on the day (not the
        set of account-days) is what PostgreSQL pushes through the views' GROUP BY to the fact's
        day, week and month indexes, and it is looked up here, as a literal, so the planner sees
        how few rows it selects. A late import of an old day widens it for that build only. -#}
    {%- set first_day = "null::date" -%}
    {%- if execute -%}
        {%- set found = run_query("select min(date_day) from " ~ fact ~ " where " ~ this_build) -%}
        {%- set day = found.columns[0].values()[0] -%}
        {%- set first_day = ("'" ~ day ~ "'::date") if day is not none else "null::date" -%}
    {%- endif -%}
    {%- if name.endswith('_daily') -%}
        {{ return("date_day >= " ~ first_day) }}
    {%- elif name.endswith('_weekly') -%}
        {{ return("week_start >= date_trunc('week', " ~ first_day ~ "::timestamp)::date") }}
    {%- elif name.endswith('_monthly') -%}
        {{ return("month_start >= date_trunc('month', " ~ first_day ~ "::timestamp)::date") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
