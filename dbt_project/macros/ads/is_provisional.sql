{# A day is provisional while conversions can still arrive: inside the conversion window counted
   back from the day it was extracted, in the account's time zone. #}
{% macro is_provisional(date_column, extracted_at_column, time_zone_column) -%}
    {{ date_column }} > ({{ extracted_at_column }} at time zone {{ time_zone_column }})::date
        - {{ var('conversion_window_days') }}
{%- endmacro %}
