// The straightforward translation of the original dbt master model, as the Airflow + dbt pipeline
// had it: the quarters UNIONed (deduplicated by DISTINCT over whole rows), a range join on every
// interval table, and a GROUP BY over every attribute. The benchmark's baseline for master_s.
export const NAIVE_MASTER_SQL = `
with readings as (
    select distinct meter_point_id, settlement_timestamp_utc, smart_meter_consumption
    from (
        select meter_point_id, settlement_timestamp_utc, smart_meter_consumption from raw.smart_meter_consumption_q1
        union
        select meter_point_id, settlement_timestamp_utc, smart_meter_consumption from raw.smart_meter_consumption_q2
        union
        select meter_point_id, settlement_timestamp_utc, smart_meter_consumption from raw.smart_meter_consumption_q3
        union
        select meter_point_id, settlement_timestamp_utc, smart_meter_consumption from raw.smart_meter_consumption_q4
    )
    where smart_meter_consumption is not null
),
joined as (
    select
        r.meter_point_id, r.settlement_timestamp_utc, c.gsp_group_id, c.profile_class_id,
        c.standard_settlement_configuration_id, c.product_category, c.is_variable, c.is_export,
        c.is_charged_half_hourly, r.smart_meter_consumption,
        p.percentage_of_annual_consumption, e.estimated_annual_consumption, t.unit_rate_pence_per_kwh
    from readings r
    join raw.meter_register_agreement_configuration_interval c
        on c.meter_point_id = r.meter_point_id
        and r.settlement_timestamp_utc >= c.interval_start
        and r.settlement_timestamp_utc < coalesce(c.interval_end, timestamp '9999-12-31')
    join raw.period_profile_coefficients p
        on p.gsp_group_id = c.gsp_group_id and p.profile_class_id = c.profile_class_id
        and p.standard_settlement_configuration_id = c.standard_settlement_configuration_id
        and p.time_pattern_regime_id = c.time_pattern_regime_id
        and p.settlement_timestamp_utc = r.settlement_timestamp_utc
        and p.percentage_of_annual_consumption > 0
    join raw.estimated_annual_consumption_interval e
        on e.meter_point_id = r.meter_point_id and e.time_pattern_regime_id = c.time_pattern_regime_id
        and r.settlement_timestamp_utc >= e.effective_from
        and r.settlement_timestamp_utc < coalesce(e.effective_to, timestamp '9999-12-31')
    left join raw.tariff_unit_rates t
        on t.gsp_group_id = c.gsp_group_id and t.product_category = c.product_category and t.is_variable = c.is_variable
        and r.settlement_timestamp_utc >= t.valid_from
        and r.settlement_timestamp_utc < coalesce(t.valid_to, timestamp '9999-12-31')
),
grouped as (
    select
        meter_point_id, settlement_timestamp_utc, gsp_group_id, profile_class_id, standard_settlement_configuration_id,
        product_category, is_variable, is_export, is_charged_half_hourly, smart_meter_consumption, unit_rate_pence_per_kwh,
        avg(percentage_of_annual_consumption) as percentage_of_annual_consumption,
        avg(estimated_annual_consumption) as estimated_annual_consumption
    from joined
    group by meter_point_id, settlement_timestamp_utc, gsp_group_id, profile_class_id, standard_settlement_configuration_id,
        product_category, is_variable, is_export, is_charged_half_hourly, smart_meter_consumption, unit_rate_pence_per_kwh
)
select
    meter_point_id, settlement_timestamp_utc, gsp_group_id, profile_class_id, standard_settlement_configuration_id,
    product_category, is_variable, is_export, is_charged_half_hourly, smart_meter_consumption,
    percentage_of_annual_consumption, estimated_annual_consumption,
    estimated_annual_consumption * percentage_of_annual_consumption as estimated_half_hour_consumption,
    (smart_meter_consumption - estimated_annual_consumption * percentage_of_annual_consumption)
        / (estimated_annual_consumption * percentage_of_annual_consumption) as demand_price_elasticity,
    unit_rate_pence_per_kwh
from grouped
where estimated_annual_consumption * percentage_of_annual_consumption > 0
`;
