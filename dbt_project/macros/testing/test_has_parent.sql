{# Relationships on a composite key: fails for rows whose key has no row in `to` (`to_columns`
   defaults to the same names). Rows with a NULL in the key are not checked. #}
{% test has_parent(model, columns, to, to_columns=none) %}
{%- set parent_columns = to_columns or columns -%}
select {{ columns | join(', ') }}
from (select * from {{ model }}) as child  -- {{ model }} may be a filtered subquery
where {% for column in columns %}child.{{ column }} is not null and {% endfor %}not exists (
    select 1
    from {{ to }} as parent
    where {% for column in columns -%}
        parent.{{ parent_columns[loop.index0] }} = child.{{ column }}{{ ' and ' if not loop.last }}
    {%- endfor %}
)
{% endtest %}
