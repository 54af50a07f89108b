-- Period Profile Coefficients: the fraction of the annual consumption in each half hour,
-- per GSP group, profile class, SSC and TPR.
-- event_time: a half hour's master rows use that half hour's coefficients only, so a month of the
-- master reads a month of coefficients (not the year's, twelve times over).
{{ config(materialized='view', event_time='settlement_timestamp_utc') }}

with source as (
    select * from {{ source('raw', 'period_profile_coefficients') }}
),

final as (
    select
        gsp_group_id,
        profile_class_id,
        standard_settlement_configuration_id,
        time_pattern_regime_id,
        settlement_timestamp_utc,
        percentage_of_annual_consumption
    from source
)

select * from final
