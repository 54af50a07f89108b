-- Meter register configuration, one row per meter, register and validity interval [start, end).
{{ config(materialized='view') }}
{{ validity_intervals(
    'meter_register_agreement_configuration_interval',
    columns=[
        'meter_point_id', 'register_id', 'product_category', 'is_export', 'is_charged_half_hourly', 'is_variable',
        'gsp_group_id', 'profile_class_id', 'standard_settlement_configuration_id', 'time_pattern_regime_id',
        'interval_start', 'interval_end'
    ],
    interval_end='interval_end',
    required='meter_point_id'
) }}
