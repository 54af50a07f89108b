-- Each meter's register segments: the stretches of time in which its registers and their estimated
-- annual consumptions (EACs) are fixed, one row per meter and segment, with the segment's register
-- layout (what its estimate depends on besides the meter's EACs) numbered once for the whole project.
-- Built once a run, whole, by the writer: meter_segment_estimates and layout_half_hour_coefficients
-- both read the layout ids from here, so the two agree.
{{ config(materialized='table') }}

with configurations as (
    select * from {{ ref('stg_meter_register_agreement_configuration_interval') }}
),

annual_estimates as (
    select * from {{ ref('stg_estimated_annual_consumption_interval') }}
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
    -- a segment's register layout, and its EACs in the same order: meters with the same layout
    -- share one set of coefficients
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

final as (
    select
        segment_layouts.meter_point_id,
        segment_layouts.segment_start,
        segment_layouts.segment_end,
        layouts.layout_id,
        segment_layouts.registers,
        segment_layouts.annual_consumptions
    from segment_layouts
    inner join layouts on layouts.registers = segment_layouts.registers
)

select * from final
