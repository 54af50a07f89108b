{#
    The half-hourly readings of the four quarterly reading sources, one after another (union all):
    a reading that two overlapping files both hold comes twice. Read by stg_smart_meter_consumption,
    which keeps it once (with the lowest value beside it, for the test that such readings agree).
#}
{% macro readings_of_all_quarters() %}
    {%- for quarter in ['q1', 'q2', 'q3', 'q4'] %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select meter_point_id, settlement_timestamp_utc, smart_meter_consumption
    from {{ source('raw', 'smart_meter_consumption_' ~ quarter) }}
    {%- endfor %}
{% endmacro %}
