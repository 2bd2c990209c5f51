{# True when this invocation's tests run before an incremental build of the daily fact (`fact`)
   reprocesses its window: not a full refresh, and the fact exists (else it is built whole). #}
{% macro fact_reprocesses_a_window(fact) -%}
    {{ return(execute and not flags.FULL_REFRESH and load_relation(fact) is not none) }}
{%- endmacro %}
