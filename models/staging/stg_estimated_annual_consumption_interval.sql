-- Estimated Annual Consumption per meter and TPR, one row per validity interval [from, to).
{{ config(materialized='view') }}
{{ validity_intervals(
    'estimated_annual_consumption_interval',
    columns=['meter_point_id', 'time_pattern_regime_id', 'effective_from', 'effective_to', 'estimated_annual_consumption'],
    interval_end='effective_to',
    required='meter_point_id'
) }}
