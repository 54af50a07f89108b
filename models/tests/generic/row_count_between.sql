-- The model fails when its row count is outside [min_value, max_value] (meterflow runs the same test natively).
{% test row_count_between(model, min_value=0, max_value=None) %}

with counted as (
    select count(*) as row_count from {{ model }}
)

select *
from counted
where row_count < {{ min_value }}
{% if max_value is not none %}
    or row_count > {{ max_value }}
{% endif %}

{% endtest %}
