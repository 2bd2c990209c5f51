{# A ratio of sums, NULL (not 0, not an error) when the denominator is 0. #}
{% macro safe_ratio(numerator, denominator) -%}
    ({{ numerator }})::numeric / nullif({{ denominator }}, 0)
{%- endmacro %}
