{#
  A model's column-level rules, checked in one query and one pass over `model` (one dbt node
  instead of one per column and rule: dbt's overhead per node, ~50 ms, was most of a build's tests).
  Returns one row per failing rule: `rule`, its readable name (`not_null(cost)`,
  `between(cost, 0, 1000000000)`, ...), and `failing_rows`, how many rows break it. dbt's failure
  count ("Got N results", the asset check's dagster_dbt/failed_row_count) is the sum of
  failing_rows. To see which rules failed, run the test's compiled SQL (a Dagster run's is under
  dbt_project/target/dbt_models-<run id's first 7>-*/compiled/burry/models/.../<test name>.sql)
  before the next build, or `dbt test --select <test name> --store-failures`.

    unique            the grain: a list of columns whose combination must not repeat (its failing
                      rows are every row of a repeated combination; NULLs compare equal, as in
                      GROUP BY). A list of such lists checks several keys (the first in the same
                      pass, the others in a scan each).
    not_null          columns that must not be NULL.
    between           {column: [min, max]}: non-NULL values outside [min, max] fail.
    accepted_values   {column: [values]}: non-NULL values outside the list fail (as dbt's
                      accepted_values, values quoted).
    not_greater_than  {column: other_column}: rows where column > other_column fail (a NULL in
                      either passes).

  `model` may be the filtered subquery of get_where_subquery.sql (`where: __reprocessed__`); it is
  read once (the first unique key's GROUP BY carries the row rules' counts).
#}
{% test row_rules(model, unique=none, not_null=[], between={}, accepted_values={}, not_greater_than={}) %}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{%- set keys = [] -%}
{%- if unique -%}
    {%- if unique[0] is string -%}
        {%- do keys.append(unique) -%}
    {%- else -%}
        {%- do keys.extend(unique) -%}
    {%- endif -%}
{%- endif -%}
{#- (rule name, condition a failing row meets) -#}
{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append(('not_null(' ~ column ~ ')', column ~ ' is null')) -%}
{%- endfor -%}
{%- for column, bounds in between.items() -%}
    {%- do rules.append((
        'between(' ~ column ~ ', ' ~ bounds[0] ~ ', ' ~ bounds[1] ~ ')',
        column ~ ' < ' ~ bounds[0] ~ ' or ' ~ column ~ ' > ' ~ bounds[1])) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- do rules.append((
        'accepted_values(' ~ column ~ ', [' ~ values | join(', ') ~ '])',
        column ~ ' not in (' ~ quoted | join(', ') ~ ')')) -%}
{%- endfor -%}
{%- for column, other in not_greater_than.items() -%}
    {%- do rules.append(('not_greater_than(' ~ column ~ ', ' ~ other ~ ')', column ~ ' > ' ~ other)) -%}
{%- endfor -%}
{%- if not keys and not rules -%}
    {{ exceptions.raise_compiler_error("row_rules on " ~ model ~ ": no rules given") }}
{%- endif %}
with

{% if keys -%}
key_groups as (
    -- one row per value of the grain: its row count and how many of its rows break each rule
    select
        count(*) as key_rows
        {%- for rule in rules %},
        count(*) filter (where {{ rule[1] }}) as rule_{{ loop.index }}
        {%- endfor %}
    from {{ model }}
    group by {{ keys[0] | join(', ') }}
),

rule_counts as (
    select
        coalesce(sum(key_rows) filter (where key_rows > 1), 0) as repeated_key_rows
        {%- for rule in rules %},
        coalesce(sum(rule_{{ loop.index }}), 0) as rule_{{ loop.index }}
        {%- endfor %}
    from key_groups
),
{%- else -%}
rule_counts as (
    select
        {%- for rule in rules %}
        count(*) filter (where {{ rule[1] }}) as rule_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
),
{%- endif %}

failing_rules as (
    select
        rules.rule,
        rules.failing_rows
    from rule_counts
    cross join lateral (
        values
        {%- if keys %}
        ('unique({{ keys[0] | join(", ") }})', rule_counts.repeated_key_rows){{ ',' if rules }}
        {%- endif %}
        {%- for rule in rules %}
        ('{{ rule[0] | replace("'", "''") }}', rule_counts.rule_{{ loop.index }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as rules (rule, failing_rows)
    {%- for key in keys[1:] %}
    union all
    select
        'unique({{ key | join(", ") }})' as rule,
        coalesce(sum(key_rows), 0) as failing_rows
    from (
        select count(*) as key_rows
        from {{ model }}
        group by {{ key | join(', ') }}
        having count(*) > 1
    ) as repeated_keys
    {%- endfor %}
)

select
    rule,
    failing_rows
from failing_rules
where failing_rows > 0
{% endtest %}
