-- Meter register configuration, one row per meter, register and validity interval [start, end).
{{ config(materialized='view') }}

with source as (
    select * from {{ source('raw', 'meter_register_agreement_configuration_interval') }}
),

final as (
    -- the same row delivered twice (a file landed again under another name) counts once
    select distinct
        meter_point_id,
        register_id,
        product_category,
        is_export,
        is_charged_half_hourly,
        is_variable,
        gsp_group_id,
        profile_class_id,
        standard_settlement_configuration_id,
        time_pattern_regime_id,
        interval_start,
        -- an open interval ends never
        coalesce(interval_end, timestamp '9999-12-31') as interval_end
    from source
    where meter_point_id is not null
)

select * from final
