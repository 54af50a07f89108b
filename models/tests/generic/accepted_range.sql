-- Rows fail when the column is outside [min_value, max_value] (either bound optional; NULL passes),
-- as dbt_utils.accepted_range (meterflow runs the same test natively).
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

select *
from {{ model }}
where not (
    1 = 1
    {% if min_value is not none %}
        and {{ column_name }} {{ '>=' if inclusive else '>' }} {{ min_value }}
    {% endif %}
    {% if max_value is not none %}
        and {{ column_name }} {{ '<=' if inclusive else '<' }} {{ max_value }}
    {% endif %}
)

{% endtest %}
