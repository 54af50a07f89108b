-- Tariff unit rates per GSP group, product and validity interval [from, to).
{{ config(materialized='view') }}
{{ validity_intervals(
    'tariff_unit_rates',
    columns=['gsp_group_id', 'product_category', 'is_variable', 'valid_from', 'valid_to', 'unit_rate_pence_per_kwh'],
    interval_end='valid_to'
) }}
