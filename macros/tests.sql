{#- No two rows share the same values in these columns. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as duplicate_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies a boolean SQL expression (on a model, or on one of its columns). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
