{#
    The config of a table with one row per meter and half hour, kept up to date incrementally by
    settlement time: meterflow rebuilds the half hours whose readings changed (the event_time window),
    dbt its own way (is_incremental()); either replaces those rows in place (delete+insert on the key).
#}
{% macro per_meter_half_hour_config() %}
    {{- config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['meter_point_id', 'settlement_timestamp_utc'],
        event_time='settlement_timestamp_utc',
        meta={'meterflow': {'split_by': 'meter_point_id'} }
    ) -}}
{% endmacro %}
