-- The master table: actual against estimated consumption, one row per meter and half hour
-- where both an actual reading and a positive estimate exist (see shared DATA.md).
-- Incremental: when only readings change, meterflow rebuilds the half hours they cover (the
-- event_time window) and replaces those rows in place; any other input change rebuilds it whole.
-- What a reading's estimate depends on besides the reading (its meter's segments, register layouts,
-- EACs and coefficients) is computed once a run in tables of its own (meter_segment_layouts,
-- layout_half_hour_coefficients, meter_segment_estimates), not again for every month built.
{{ per_meter_half_hour_config() }}

with readings as (
    select * from {{ ref('stg_smart_meter_consumption') }}
    where smart_meter_consumption is not null
    {% if is_incremental() %}
        -- dbt's own incremental runs; meterflow reads exactly the changed window instead
        and settlement_timestamp_utc >= (select max(settlement_timestamp_utc) from {{ this }})
    {% endif %}
),

segment_estimates as (
    -- a meter's EAC per segment and set of qualifying registers (built once a run)
    select * from {{ ref('meter_segment_estimates') }}
),

meter_segments as (
    -- a meter's segments, each with its register layout and its EAC per qualifying set (a map, read
    -- once the half hour's qualifying set is known: no third join, which DuckDB would order first)
    select
        meter_point_id,
        segment_start,
        segment_end,
        layout_id,
        map(list(qualifying_set_id), list(estimated_annual_consumption)) as eacs
    from segment_estimates
    group by all
),

half_hour_coefficients as (
    -- a layout's coefficient and qualifying set per half hour (built once a run)
    select * from {{ ref('layout_half_hour_coefficients') }}
),

tariffs as (
    select * from {{ ref('stg_tariff_unit_rates') }}
),

estimate_inputs as (
    -- each reading meets its meter's segment (a hash join on the meter, a few segments each), then its
    -- layout's coefficients for its half hour (a hash join on a small table), and the segment's EAC
    -- for the half hour's qualifying set: one row per reading, no regrouping.
    -- NOTE: the coefficients' key is one struct of the layout and the half hour, so that the join needs
    -- the reading and its segment both. With two separate equalities DuckDB joined the coefficients to
    -- the segments first (a hash table of every meter's half hours, 1.3 M rows for a third of a month
    -- at 2,000 meters) and the readings to that: a month's part took 1.5 times as long. Without the map
    -- above, the struct key alone makes DuckDB's plan far worse (a minute for a part): keep both.
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
        map_extract_value(meter_segments.eacs, half_hour_coefficients.qualifying_set_id) as estimated_annual_consumption
    from readings
    inner join meter_segments
        on meter_segments.meter_point_id = readings.meter_point_id
        and readings.settlement_timestamp_utc >= meter_segments.segment_start
        and readings.settlement_timestamp_utc < meter_segments.segment_end
    inner join half_hour_coefficients
        on struct_pack(l := half_hour_coefficients.layout_id, t := half_hour_coefficients.settlement_timestamp_utc)
            = struct_pack(l := meter_segments.layout_id, t := readings.settlement_timestamp_utc)
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
        unit_rate_pence_per_kwh,
        true as is_half_hourly_rate
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
        case
            -- two rates of one product over the same half hour: which one holds is not for the model
            -- to guess (two longer ones give the half hour twice, which its uniqueness test refuses)
            when half_hourly_tariffs.is_half_hourly_rate and longer_tariffs.valid_from is not null then error(
                'tariff_unit_rates: two rates for gsp_group_id ' || with_estimate.gsp_group_id
                || ', product_category ' || with_estimate.product_category || ', is_variable ' || with_estimate.is_variable
                || ' at ' || with_estimate.settlement_timestamp_utc || ': a half-hourly rate and one valid from '
                || longer_tariffs.valid_from || ' to ' || longer_tariffs.valid_to || '; remove one of them'
            )
            else coalesce(half_hourly_tariffs.unit_rate_pence_per_kwh, longer_tariffs.unit_rate_pence_per_kwh)
        end as unit_rate_pence_per_kwh
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
