-- A meter's estimated annual consumption (EAC) for each of its register segments
-- (meter_segment_layouts) and each set of qualifying registers its layout has over the year
-- (layout_half_hour_coefficients): their EACs' average where more than one. One row per meter,
-- segment and qualifying set: what the master joins each reading to.
-- Built once a run, whole, by the writer.
{{ config(materialized='table') }}

with segment_layouts as (
    select * from {{ ref('meter_segment_layouts') }}
),

qualifying_sets as (
    select distinct layout_id, qualifying_set_id, qualifying_positions
    from {{ ref('layout_half_hour_coefficients') }}
),

final as (
    select
        segment_layouts.meter_point_id,
        segment_layouts.segment_start,
        segment_layouts.segment_end,
        segment_layouts.layout_id,
        qualifying_sets.qualifying_set_id,
        list_avg(list_select(segment_layouts.annual_consumptions, qualifying_sets.qualifying_positions)) as estimated_annual_consumption
    from segment_layouts
    inner join qualifying_sets on qualifying_sets.layout_id = segment_layouts.layout_id
)

select * from final
