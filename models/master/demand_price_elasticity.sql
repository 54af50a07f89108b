-- The master table: actual against estimated consumption, one row per meter and half hour
-- where both an actual reading and a positive estimate exist (see shared DATA.md).
{{ config(materialized='table') }}

with readings as (
    select * from {{ ref('stg_smart_meter_consumption') }}
    where smart_meter_consumption is not null
),

configurations as (
    select * from {{ ref('stg_meter_register_agreement_configuration_interval') }}
),

coefficients as (
    select * from {{ ref('stg_period_profile_coefficients') }}
    where percentage_of_annual_consumption > 0
),

annual_estimates as (
    select * from {{ ref('stg_estimated_annual_consumption_interval') }}
),

tariffs as (
    select * from {{ ref('stg_tariff_unit_rates') }}
),

registers_in_force as (
    -- every register of the configuration interval that contains the half hour
    -- (a meter has a handful of intervals, so the hash join on the meter fans out little)
    select
        readings.meter_point_id,
        readings.settlement_timestamp_utc,
        readings.smart_meter_consumption,
        configurations.gsp_group_id,
        configurations.profile_class_id,
        configurations.standard_settlement_configuration_id,
        configurations.time_pattern_regime_id,
        configurations.product_category,
        configurations.is_variable,
        configurations.is_export,
        configurations.is_charged_half_hourly
    from readings
    inner join configurations
        on configurations.meter_point_id = readings.meter_point_id
        and readings.settlement_timestamp_utc >= configurations.interval_start
        and readings.settlement_timestamp_utc < configurations.interval_end
),

registers_with_coefficient as (
    -- only the registers whose TPR window holds the half hour have a positive coefficient
    select
        registers_in_force.*,
        coefficients.percentage_of_annual_consumption
    from registers_in_force
    inner join coefficients
        on coefficients.gsp_group_id = registers_in_force.gsp_group_id
        and coefficients.profile_class_id = registers_in_force.profile_class_id
        and coefficients.standard_settlement_configuration_id = registers_in_force.standard_settlement_configuration_id
        and coefficients.time_pattern_regime_id = registers_in_force.time_pattern_regime_id
        and coefficients.settlement_timestamp_utc = registers_in_force.settlement_timestamp_utc
),

registers_with_estimate as (
    -- the EAC revision in force at the half hour; a meter has a revision or two per register, so
    -- a hash join on meter and register with a range check beats sorting every reading for an ASOF join
    select
        registers_with_coefficient.*,
        annual_estimates.estimated_annual_consumption
    from registers_with_coefficient
    inner join annual_estimates
        on annual_estimates.meter_point_id = registers_with_coefficient.meter_point_id
        and annual_estimates.time_pattern_regime_id = registers_with_coefficient.time_pattern_regime_id
        and registers_with_coefficient.settlement_timestamp_utc >= annual_estimates.effective_from
        and registers_with_coefficient.settlement_timestamp_utc < annual_estimates.effective_to
),

estimates_per_half_hour as (
    -- where more than one register qualifies, their average (as the original dbt model did)
    select
        meter_point_id,
        settlement_timestamp_utc,
        any_value(smart_meter_consumption) as smart_meter_consumption,
        any_value(gsp_group_id) as gsp_group_id,
        any_value(profile_class_id) as profile_class_id,
        any_value(standard_settlement_configuration_id) as standard_settlement_configuration_id,
        any_value(product_category) as product_category,
        any_value(is_variable) as is_variable,
        any_value(is_export) as is_export,
        any_value(is_charged_half_hourly) as is_charged_half_hourly,
        avg(percentage_of_annual_consumption) as percentage_of_annual_consumption,
        avg(estimated_annual_consumption) as estimated_annual_consumption
    from registers_with_estimate
    group by meter_point_id, settlement_timestamp_utc
),

with_estimate as (
    select
        *,
        estimated_annual_consumption * percentage_of_annual_consumption as estimated_half_hour_consumption
    from estimates_per_half_hour
),

half_hourly_tariffs as (
    -- variable tariffs price each half hour: an equality join on its start
    select * from tariffs
    where valid_to = valid_from + interval 30 minute
),

longer_tariffs as (
    select * from tariffs
    where valid_to <> valid_from + interval 30 minute
),

with_rate as (
    -- the tariff interval that contains the half hour: equality for half-hourly rates, a hash join
    -- with a range check for longer ones (a product has a few of those a year)
    select
        with_estimate.*,
        coalesce(half_hourly_tariffs.unit_rate_pence_per_kwh, longer_tariffs.unit_rate_pence_per_kwh) as unit_rate_pence_per_kwh
    from with_estimate
    left join half_hourly_tariffs
        on half_hourly_tariffs.gsp_group_id = with_estimate.gsp_group_id
        and half_hourly_tariffs.product_category = with_estimate.product_category
        and half_hourly_tariffs.is_variable = with_estimate.is_variable
        and half_hourly_tariffs.valid_from = with_estimate.settlement_timestamp_utc
    left join longer_tariffs
        on longer_tariffs.gsp_group_id = with_estimate.gsp_group_id
        and longer_tariffs.product_category = with_estimate.product_category
        and longer_tariffs.is_variable = with_estimate.is_variable
        and with_estimate.settlement_timestamp_utc >= longer_tariffs.valid_from
        and with_estimate.settlement_timestamp_utc < longer_tariffs.valid_to
),

final as (
    select
        meter_point_id,
        settlement_timestamp_utc,
        gsp_group_id,
        profile_class_id,
        standard_settlement_configuration_id,
        product_category,
        is_variable,
        is_export,
        is_charged_half_hourly,
        smart_meter_consumption,
        percentage_of_annual_consumption,
        estimated_annual_consumption,
        estimated_half_hour_consumption,
        (smart_meter_consumption - estimated_half_hour_consumption)
            / estimated_half_hour_consumption as demand_price_elasticity,
        unit_rate_pence_per_kwh
    from with_rate
    where estimated_half_hour_consumption > 0
)

select * from final
