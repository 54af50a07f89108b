-- The master table: actual against estimated consumption, one row per meter and half hour
-- where both an actual reading and a positive estimate exist (see shared DATA.md).
-- Incremental: when only readings change, meterflow rebuilds the half hours they cover (the
-- event_time window) and replaces those rows in place; any other input change rebuilds it whole.
{{ per_meter_half_hour_config() }}

with readings as (
    select * from {{ ref('stg_smart_meter_consumption') }}
    where smart_meter_consumption is not null
    {% if is_incremental() %}
        -- dbt's own incremental runs; meterflow reads exactly the changed window instead
        and settlement_timestamp_utc >= (select max(settlement_timestamp_utc) from {{ this }})
    {% endif %}
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

boundaries as (
    -- every moment at which a meter's registers or their estimates can change
    select meter_point_id, interval_start as boundary from configurations
    union
    select meter_point_id, interval_end from configurations
    union
    select meter_point_id, effective_from from annual_estimates
    union
    select meter_point_id, effective_to from annual_estimates
),

segments as (
    -- the stretches between two boundaries: within one, a meter's registers and EACs are fixed
    select
        meter_point_id,
        boundary as segment_start,
        lead(boundary) over (partition by meter_point_id order by boundary) as segment_end
    from boundaries
),

segment_registers as (
    -- every register in force during a segment with the EAC in force then (a register without an
    -- EAC has no estimate, as in the original model's inner joins)
    select
        segments.meter_point_id,
        segments.segment_start,
        segments.segment_end,
        configurations.gsp_group_id,
        configurations.profile_class_id,
        configurations.standard_settlement_configuration_id,
        configurations.time_pattern_regime_id,
        configurations.product_category,
        configurations.is_variable,
        configurations.is_export,
        configurations.is_charged_half_hourly,
        annual_estimates.estimated_annual_consumption
    from segments
    inner join configurations
        on configurations.meter_point_id = segments.meter_point_id
        and configurations.interval_start <= segments.segment_start
        and segments.segment_end <= configurations.interval_end
    inner join annual_estimates
        on annual_estimates.meter_point_id = segments.meter_point_id
        and annual_estimates.time_pattern_regime_id = configurations.time_pattern_regime_id
        and annual_estimates.effective_from <= segments.segment_start
        and segments.segment_end <= annual_estimates.effective_to
    where segments.segment_end is not null
),

segment_layouts as (
    -- a segment's register layout (what its estimate depends on besides the meter's EACs), and its
    -- EACs in the same order: meters with the same layout share one set of coefficients
    select
        meter_point_id,
        segment_start,
        segment_end,
        list(
            {
                'gsp_group_id': gsp_group_id,
                'profile_class_id': profile_class_id,
                'standard_settlement_configuration_id': standard_settlement_configuration_id,
                'time_pattern_regime_id': time_pattern_regime_id,
                'product_category': product_category,
                'is_variable': is_variable,
                'is_export': is_export,
                'is_charged_half_hourly': is_charged_half_hourly
            }
            order by gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id,
                product_category, is_variable, is_export, is_charged_half_hourly, estimated_annual_consumption
        ) as registers,
        list(
            estimated_annual_consumption
            order by gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id,
                product_category, is_variable, is_export, is_charged_half_hourly, estimated_annual_consumption
        ) as annual_consumptions
    from segment_registers
    group by meter_point_id, segment_start, segment_end
),

layouts as (
    select
        registers,
        row_number() over (order by registers) as layout_id
    from (select distinct registers from segment_layouts)
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

half_hour_coefficients as (
    select
        layout_coefficients.* exclude (positions),
        qualifying_sets.qualifying_set_id
    from layout_coefficients
    inner join qualifying_sets
        on qualifying_sets.layout_id = layout_coefficients.layout_id
        and qualifying_sets.positions = layout_coefficients.positions
),

meter_segments as (
    select
        segment_layouts.meter_point_id,
        segment_layouts.segment_start,
        segment_layouts.segment_end,
        segment_layouts.annual_consumptions,
        layouts.layout_id
    from segment_layouts
    inner join layouts on layouts.registers = segment_layouts.registers
),

segment_estimates as (
    -- a segment's EAC for each set of qualifying registers: their average where more than one
    select
        meter_segments.meter_point_id,
        meter_segments.segment_start,
        qualifying_sets.qualifying_set_id,
        list_avg(list_select(meter_segments.annual_consumptions, qualifying_sets.positions)) as estimated_annual_consumption
    from meter_segments
    inner join qualifying_sets on qualifying_sets.layout_id = meter_segments.layout_id
),

estimate_inputs as (
    -- each reading meets its meter's segment (a hash join on the meter, a few segments each), its
    -- layout's coefficients and the segment's EAC (equality joins on small tables): one row per
    -- reading, no regrouping
    select
        readings.meter_point_id,
        readings.settlement_timestamp_utc,
        half_hour_coefficients.gsp_group_id,
        half_hour_coefficients.profile_class_id,
        half_hour_coefficients.standard_settlement_configuration_id,
        half_hour_coefficients.product_category,
        half_hour_coefficients.is_variable,
        half_hour_coefficients.is_export,
        half_hour_coefficients.is_charged_half_hourly,
        readings.smart_meter_consumption,
        half_hour_coefficients.percentage_of_annual_consumption,
        segment_estimates.estimated_annual_consumption
    from readings
    inner join meter_segments
        on meter_segments.meter_point_id = readings.meter_point_id
        and readings.settlement_timestamp_utc >= meter_segments.segment_start
        and readings.settlement_timestamp_utc < meter_segments.segment_end
    inner join half_hour_coefficients
        on half_hour_coefficients.layout_id = meter_segments.layout_id
        and half_hour_coefficients.settlement_timestamp_utc = readings.settlement_timestamp_utc
    inner join segment_estimates
        on segment_estimates.meter_point_id = meter_segments.meter_point_id
        and segment_estimates.segment_start = meter_segments.segment_start
        and segment_estimates.qualifying_set_id = half_hour_coefficients.qualifying_set_id
),

with_estimate as (
    select
        *,
        estimated_annual_consumption * percentage_of_annual_consumption as estimated_half_hour_consumption
    from estimate_inputs
),

half_hourly_tariffs as (
    -- variable tariffs price each half hour: an equality join on its start
    select
        gsp_group_id,
        product_category,
        is_variable,
        valid_from as settlement_timestamp_utc,
        unit_rate_pence_per_kwh
    from tariffs
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
    left join half_hourly_tariffs using (gsp_group_id, product_category, is_variable, settlement_timestamp_utc)
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
