{#
  Views are left alone when nothing they are made of changed (docs/decisions.md). dbt's own view
  materialization recreates every view on every build: a new view, two renames and a
  `drop ... cascade`, under locks that make the ask service's queries wait, and a moment in which
  the view and every view built on it are missing. Each view built here carries a fingerprint in
  its comment: the md5 of its compiled SQL and of its parents' current columns (name, type,
  order). A build finding the same fingerprint on an existing view skips it; anything else (SQL,
  macros or vars changed, a parent's columns changed, the view missing, e.g. dropped with a
  parent that was replaced, or a full refresh) recreates it through dbt's own materialization.
#}
{%- materialization view, adapter='postgres' -%}
    {%- set fingerprint = view_fingerprint(this, sql, model) -%}
    {%- if not should_full_refresh() and fingerprint.current == fingerprint.wanted -%}
        {{ run_hooks(pre_hooks, inside_transaction=False) }}
        {%- call statement('main') -%}
            select 'unchanged' as status
        {%- endcall -%}
        {{ run_hooks(post_hooks, inside_transaction=False) }}
        {{ return({'relations': [this.incorporate(type='view')]}) }}
    {%- endif -%}
    {%- set result = materialization_view_default() -%}
    {%- call statement('fingerprint') -%}
        comment on view {{ this }} is '{{ fingerprint.wanted }}'
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return(result) }}
{%- endmaterialization -%}

{# The fingerprint `view` should carry (`wanted`) and the comment it carries (`current`: none when
   it does not exist as a view). #}
{% macro view_fingerprint(view, sql, model) %}
    {%- set parents = [] -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set parent = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
        {%- if parent and parent.relation_name -%}
            {%- do parents.append("to_regclass('" ~ parent.relation_name | replace("'", "''") ~ "')") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set query -%}
        select
            (select obj_description(views.oid, 'pg_class') from pg_class as views
             where views.oid = to_regclass('{{ view | replace("'", "''") }}') and views.relkind = 'v') as current,
            'burry-view ' || md5('{{ local_md5(sql) }}' || coalesce((
                select string_agg(columns.attrelid::regclass::text || '.' || columns.attname || ' '
                                  || format_type(columns.atttypid, columns.atttypmod), ', '
                                  order by columns.attrelid::regclass::text, columns.attnum)
                from pg_attribute as columns
                where columns.attrelid = any(array[{{ (parents or ['null']) | join(', ') }}]::oid[])
                    and columns.attnum > 0 and not columns.attisdropped
            ), '')) as wanted
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {{ return({'current': row['current'], 'wanted': row['wanted']}) }}
{% endmacro %}
