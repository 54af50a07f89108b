-- Rows fail when the timestamp is not a whole multiple of interval_minutes since the epoch, e.g. a
-- half hour that starts at 00:10 (meterflow runs the same test natively).
{% test on_time_grid(model, column_name, interval_minutes=30) %}

select *
from {{ model }}
where {{ column_name }} is not null
    and epoch_us({{ column_name }}) % {{ interval_minutes * 60 * 1000000 }} <> 0

{% endtest %}
