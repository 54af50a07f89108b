-- Rows fail when any floating-point column (or each of `columns`, when given) holds NaN or
-- ±Infinity; NULL passes (meterflow runs the same test natively).
{% test all_finite(model, columns=none, column_name=none) %}

{% if columns is not none %}
    {% set tested = columns %}
{% elif column_name is not none %}
    {% set tested = [column_name] %}
{% else %}
    {% set tested = [] %}
    {% for column in adapter.get_columns_in_relation(model) %}
        {% if column.dtype | upper in ['DOUBLE', 'FLOAT', 'REAL', 'FLOAT4', 'FLOAT8'] %}
            {% do tested.append(column.name) %}
        {% endif %}
    {% endfor %}
{% endif %}

select *
from {{ model }}
where false
{% for column in tested %}
    or coalesce(not isfinite({{ adapter.quote(column) }}), false)
{% endfor %}

{% endtest %}
