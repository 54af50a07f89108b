-- Per register layout (meter_segment_layouts) and half hour: the registers whose coefficient is
-- positive (the qualifying set), their average coefficient, and the attributes of the layout's first
-- qualifying register, which the master outputs. One row per layout and half hour with a positive
-- coefficient.
-- Built once a run, whole, by the writer. event_time: a half hour's master rows use that half hour's
-- coefficients only, so a month of the master reads a month of these (not the year's, twelve times over).
{{ config(materialized='table', event_time='settlement_timestamp_utc') }}

with segment_layouts as (
    select * from {{ ref('meter_segment_layouts') }}
),

coefficients as (
    select * from {{ ref('stg_period_profile_coefficients') }}
    where percentage_of_annual_consumption > 0
),

layouts as (
    select distinct layout_id, registers from segment_layouts
),

layout_positions as (
    select
        layout_id,
        registers,
        unnest(generate_series(1, len(registers))) as position
    from layouts
),

layout_registers as (
    -- one row per register of a layout, numbered as in the layout
    select
        layout_id,
        position,
        registers[position].gsp_group_id as gsp_group_id,
        registers[position].profile_class_id as profile_class_id,
        registers[position].standard_settlement_configuration_id as standard_settlement_configuration_id,
        registers[position].time_pattern_regime_id as time_pattern_regime_id,
        registers[position].product_category as product_category,
        registers[position].is_variable as is_variable,
        registers[position].is_export as is_export,
        registers[position].is_charged_half_hourly as is_charged_half_hourly
    from layout_positions
),

layout_coefficients as (
    -- per layout and half hour: the registers whose coefficient is positive, and their average
    -- coefficient (as the original dbt model averaged more than one qualifying register), summed in
    -- the registers' order so that it is the same to the bit on every run
    select
        layout_registers.layout_id,
        coefficients.settlement_timestamp_utc,
        list(layout_registers.position order by layout_registers.position) as positions,
        list_avg(list(coefficients.percentage_of_annual_consumption order by layout_registers.position)) as percentage_of_annual_consumption,
        arg_min(layout_registers.gsp_group_id, layout_registers.position) as gsp_group_id,
        arg_min(layout_registers.profile_class_id, layout_registers.position) as profile_class_id,
        arg_min(layout_registers.standard_settlement_configuration_id, layout_registers.position) as standard_settlement_configuration_id,
        arg_min(layout_registers.product_category, layout_registers.position) as product_category,
        arg_min(layout_registers.is_variable, layout_registers.position) as is_variable,
        arg_min(layout_registers.is_export, layout_registers.position) as is_export,
        arg_min(layout_registers.is_charged_half_hourly, layout_registers.position) as is_charged_half_hourly
    from layout_registers
    inner join coefficients using (gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id)
    group by layout_registers.layout_id, coefficients.settlement_timestamp_utc
),

qualifying_sets as (
    -- the few different sets of qualifying registers a layout has over the year (e.g. the day
    -- register, the night register)
    select
        layout_id,
        positions,
        row_number() over (order by layout_id, positions) as qualifying_set_id
    from (select distinct layout_id, positions from layout_coefficients)
),

final as (
    select
        layout_coefficients.layout_id,
        layout_coefficients.settlement_timestamp_utc,
        qualifying_sets.qualifying_set_id,
        -- the qualifying registers' positions in the layout: meter_segment_estimates averages their EACs
        layout_coefficients.positions as qualifying_positions,
        layout_coefficients.percentage_of_annual_consumption,
        layout_coefficients.gsp_group_id,
        layout_coefficients.profile_class_id,
        layout_coefficients.standard_settlement_configuration_id,
        layout_coefficients.product_category,
        layout_coefficients.is_variable,
        layout_coefficients.is_export,
        layout_coefficients.is_charged_half_hourly
    from layout_coefficients
    inner join qualifying_sets
        on qualifying_sets.layout_id = layout_coefficients.layout_id
        and qualifying_sets.positions = layout_coefficients.positions
)

select * from final
