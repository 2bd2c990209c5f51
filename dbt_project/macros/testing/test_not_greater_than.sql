{# Fails for rows where the column is above another column of the same row (p50 above p90);
   rows where either is NULL pass. #}
{% test not_greater_than(model, column_name, other_column) %}
select {{ column_name }}, {{ other_column }}
from {{ model }}
where {{ column_name }} > {{ other_column }}
{% endtest %}
