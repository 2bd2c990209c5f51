{# The additive metrics every ad mart carries, and the ratios derived from them. Ratios are always
   ratios of sums at the grain asked, NULL when the denominator is 0: never averages of ratios. #}

{% macro additive_metrics() -%}
    impressions, clicks, cost, conversions, conversion_value
{%- endmacro %}

{% macro summed_metrics() -%}
    sum(impressions) as impressions,
    sum(clicks) as clicks,
    sum(cost) as cost,
    sum(conversions) as conversions,
    sum(conversion_value) as conversion_value
{%- endmacro %}

{% macro ratio_metrics() -%}
    {{ safe_ratio('clicks', 'impressions') }} as ctr,
    {{ safe_ratio('cost', 'clicks') }} as cpc,
    {{ safe_ratio('cost', 'conversions') }} as cpa,
    {{ safe_ratio('conversion_value', 'cost') }} as roas
{%- endmacro %}

{# A daily mart rolled up to weeks (Monday start) or months, ratios re-derived from the sums. #}
{% macro period_rollup(daily_model, keys, period) -%}
with daily as (
    select * from {{ ref(daily_model) }}
),

summed as (
    select
        {{ keys | join(', ') }},
        date_trunc('{{ period }}', date_day)::date as {{ period }}_start,
        count(distinct date_day) as days_with_data,
        {{ summed_metrics() }},
        bool_or(is_provisional) as is_provisional
    from daily
    group by {{ keys | join(', ') }}, date_trunc('{{ period }}', date_day)
)

select
    *,
    {{ ratio_metrics() }}
from summed
{%- endmacro %}
