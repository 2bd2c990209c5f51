{#
  Tests on the ad mart views check only the periods the build re-processed (config
  `where: __reprocessed_periods__`, set for models/ads/marts in dbt_project.yml). The views are
  the same SQL over every day of the fact, so a fault in their logic (a dimension join fanning
  out, a wrong ratio) shows in recent periods as in old ones; the fact's own tests keep checking
  every row of history (days imported late, outside the window, included). Without this, each
  test re-aggregated the whole history on every 6-hourly run (bench/marts_refresh.py). A full
  refresh tests everything.
  Overrides dbt's default__get_where_subquery (the documented hook for custom `where` logic).
#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__reprocessed_periods__' -%}
        {%- set where = reprocessed_periods_filter(relation) -%}
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

{# The periods holding the lookback window's days, by the mart's period column; '' (all rows)
   when the mart has none or this is a full refresh. The window ends at the fact's newest day
   (today in production; the end of the data where it is older, as in tests). #}
{% macro reprocessed_periods_filter(relation) -%}
    {%- set fact = relation.incorporate(path={"identifier": "int_ads__daily_facts"}) -%}
    {%- set first_day = "(select max(date_day) from " ~ fact ~ ") - " ~ var('lookback_days') -%}
    {%- set name = relation.identifier -%}
    {%- if flags.FULL_REFRESH -%}
        {{ return('') }}
    {%- elif name.endswith('_daily') -%}
        {{ return("date_day >= " ~ first_day) }}
    {%- elif name.endswith('_weekly') -%}
        {{ return("week_start >= date_trunc('week', " ~ first_day ~ ")") }}
    {%- elif name.endswith('_monthly') -%}
        {{ return("month_start >= date_trunc('month', " ~ first_day ~ ")") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
