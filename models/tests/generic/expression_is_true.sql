-- A row fails when the expression is not true for it (meterflow runs the same test natively).
{% test expression_is_true(model, expression, column_name=None) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
