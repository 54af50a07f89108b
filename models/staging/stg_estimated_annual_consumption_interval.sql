-- Estimated Annual Consumption per meter and TPR, one row per validity interval [from, to).
{{ config(materialized='view') }}

with source as (
    select * from {{ source('raw', 'estimated_annual_consumption_interval') }}
),

final as (
    -- the same row delivered twice (a file landed again under another name) counts once
    select distinct
        meter_point_id,
        time_pattern_regime_id,
        effective_from,
        coalesce(effective_to, timestamp '9999-12-31') as effective_to,
        estimated_annual_consumption
    from source
    where meter_point_id is not null
)

select * from final
