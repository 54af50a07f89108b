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
    -- per layout and half hour: the registers whose coefficient is positive, in the registers' order
    -- (a list of structs sorted by position). An unordered list sorted afterwards: aggregates with
    -- ORDER BY keep a sort per group, and with nine of them over a million groups of one or two rows
    -- this model took 1.8 s instead of 0.3 s (250 meters, two threads; the same rows)
    select
        layout_registers.layout_id,
        coefficients.settlement_timestamp_utc,
        list_sort(list({'position': layout_registers.position, 'coefficient': coefficients.percentage_of_annual_consumption})) as registers
    from layout_registers
    inner join coefficients using (gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id)
    group by layout_registers.layout_id, coefficients.settlement_timestamp_utc
),

half_hour_sets as (
    -- the qualifying registers' positions, and their average coefficient (as the original dbt model
    -- averaged more than one qualifying register), summed in the registers' order so that it is the
    -- same to the bit on every run
    select
        layout_id,
        settlement_timestamp_utc,
        list_transform(registers, lambda r: r.position) as positions,
        list_avg(list_transform(registers, lambda r: r.coefficient)) as percentage_of_annual_consumption
    from layout_coefficients
),

qualifying_sets as (
    -- the few different sets of qualifying registers a layout has over the year (e.g. the day
    -- register, the night register)
    select
        layout_id,
        positions,
        row_number() over (order by layout_id, positions) as qualifying_set_id
    from (select distinct layout_id, positions from half_hour_sets)
),

set_attributes as (
    -- a qualifying set's attributes: those of its first register (the first with each attribute
    -- not NULL, as arg_min skips NULLs), computed once a set rather than once a half hour
    select
        qualifying_sets.layout_id,
        qualifying_sets.positions,
        any_value(qualifying_sets.qualifying_set_id) as qualifying_set_id,
        arg_min(layout_registers.gsp_group_id, layout_registers.position) as gsp_group_id,
        arg_min(layout_registers.profile_class_id, layout_registers.position) as profile_class_id,
        arg_min(layout_registers.standard_settlement_configuration_id, layout_registers.position) as standard_settlement_configuration_id,
        arg_min(layout_registers.product_category, layout_registers.position) as product_category,
        arg_min(layout_registers.is_variable, layout_registers.position) as is_variable,
        arg_min(layout_registers.is_export, layout_registers.position) as is_export,
        arg_min(layout_registers.is_charged_half_hourly, layout_registers.position) as is_charged_half_hourly
    from qualifying_sets
    inner join layout_registers
        on layout_registers.layout_id = qualifying_sets.layout_id
        and list_contains(qualifying_sets.positions, layout_registers.position)
    group by qualifying_sets.layout_id, qualifying_sets.positions
),

final as (
    select
        half_hour_sets.layout_id,
        half_hour_sets.settlement_timestamp_utc,
        set_attributes.qualifying_set_id,
        -- the qualifying registers' positions in the layout: meter_segment_estimates averages their EACs
        half_hour_sets.positions as qualifying_positions,
        half_hour_sets.percentage_of_annual_consumption,
        set_attributes.gsp_group_id,
        set_attributes.profile_class_id,
        set_attributes.standard_settlement_configuration_id,
        set_attributes.product_category,
        set_attributes.is_variable,
        set_attributes.is_export,
        set_attributes.is_charged_half_hourly
    from half_hour_sets
    inner join set_attributes
        on set_attributes.layout_id = half_hour_sets.layout_id
        and set_attributes.positions = half_hour_sets.positions
)

select * from final
