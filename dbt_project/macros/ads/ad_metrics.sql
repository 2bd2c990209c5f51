{# The additive metrics every ad mart carries, and the ratios derived from them. Ratios are always
   ratios of sums at the grain asked, NULL when the denominator is 0: never averages of ratios. #}

{% macro ad_metric_names() -%}
    {{ return(['impressions', 'clicks', 'cost', 'conversions', 'conversion_value']) }}
{%- endmacro %}

{% macro additive_metrics() -%}
    {{ ad_metric_names() | join(', ') }}
{%- endmacro %}

{# sum() of each metric, optionally only over rows matching `where`, named with `prefix`. #}
{% macro summed_metrics(where=none, prefix='') -%}
    {%- for metric in ad_metric_names() %}
    sum({{ metric }}){% if where %} filter (where {{ where }}){% endif %} as {{ prefix }}{{ metric }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro ratio_metrics(prefix='') -%}
    {{ safe_ratio(prefix ~ 'clicks', prefix ~ 'impressions') }} as {{ prefix }}ctr,
    {{ safe_ratio(prefix ~ 'cost', prefix ~ 'clicks') }} as {{ prefix }}cpc,
    {{ safe_ratio(prefix ~ 'cost', prefix ~ 'conversions') }} as {{ prefix }}cpa,
    {{ safe_ratio(prefix ~ 'conversion_value', prefix ~ 'cost') }} as {{ prefix }}roas
{%- endmacro %}

{# A daily mart rolled up to weeks (Monday start) or months, ratios re-derived from the sums. #}
{% macro period_rollup(daily_model, keys, period) -%}
with summed as (
    select
        {{ keys | join(', ') }},
        date_trunc('{{ period }}', date_day::timestamp)::date as {{ period }}_start,
        count(distinct date_day) as days_with_data,
        {{ summed_metrics() }},
        bool_or(is_provisional) as is_provisional
    from {{ ref(daily_model) }}
    group by {{ keys | join(', ') }}, date_trunc('{{ period }}', date_day::timestamp)
)

select
    *,
    {{ ratio_metrics() }}
from summed
{%- endmacro %}

{#
  The top `top_n` entities by spend in each account's prompt windows, ranked within their parent
  (campaigns within the account, ad groups within a campaign, ads within an ad group). Only the
  children of the parent level's top entities are ranked, as a prompt shows them: `parent_model`
  is that level's top-N model. Entities with neither spend nor impressions are not "top".
#}
{% macro top_by_spend(entity_keys, parent_keys=[], parent_model=none, grains=none) -%}
{%- set window_keys = ['platform', 'account_id', 'window_days', 'window_start', 'window_end'] -%}
with totals as (
    select
        {{ (window_keys + entity_keys) | join(', ') }},
        {{ summed_metrics() }},
        count(distinct date_day) filter (where is_provisional) as provisional_days
    from {{ ref('int_ads__window_facts') }}
    {%- if grains %}
    where grain in ('{{ grains | join("', '") }}')
    {%- endif %}
    group by {{ (window_keys + entity_keys) | join(', ') }}
    having sum(cost) > 0 or sum(impressions) > 0
),

-- Children of the top parents only. Filtered after summing, not before: a filter on the fact
-- by the freshly built parent table gets a nested-loop plan that rescans each account's window.
candidates as (
    select * from totals
    {%- if parent_model %}
    where (platform, account_id, window_days, {{ parent_keys | join(', ') }}) in (
        select platform, account_id, window_days, {{ parent_keys | join(', ') }} from {{ ref(parent_model) }}
    )
    {%- endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by {{ (['platform', 'account_id', 'window_days'] + parent_keys) | join(', ') }}
            order by cost desc, clicks desc, impressions desc, {{ entity_keys | join(', ') }}
        ) as spend_rank
    from candidates
)

select
    *,
    {{ ratio_metrics() }}
from ranked
where spend_rank <= {{ var('top_n') }}
{%- endmacro %}

{# The daily fact summed to a grain (`keys` x day). #}
{% macro summed_daily_facts(keys, where=none) -%}
    select
        {{ keys | join(', ') }},
        date_day,
        {{ summed_metrics() }},
        bool_or(is_provisional) as is_provisional,
        max(extracted_at) as extracted_at
    from {{ ref('int_ads__daily_facts') }}
    {% if where %}where {{ where }}{% endif %}
    group by {{ keys | join(', ') }}, date_day
{%- endmacro %}

{# The columns every daily mart ends with, from a relation `rel` with the additive metrics. #}
{% macro daily_mart_metrics(rel) -%}
    {{ rel }}.date_day,
    {{ additive_metrics() }},
    {{ ratio_metrics() }},
    {{ rel }}.is_provisional,
    {{ rel }}.extracted_at
{%- endmacro %}

{# Micros to the account currency: exact (micros have six decimals), typed numeric(20, 6) so sums
   keep six decimals instead of PostgreSQL's twenty-odd digits of division scale. #}
{% macro micros_to_currency(column) -%}
    ({{ column }}::numeric / 1000000)::numeric(20, 6)
{%- endmacro %}
