-- Per meter and month: the half hours with a reading and an estimate, the sum of the absolute
-- deviation, the first and last such half hour, and the meter's GSP group and profile class at its
-- last one. Partial aggregates: meter_anomalies merges them over all months (counts, sums, minima
-- and maxima merge exactly), so a run that changed one month recomputes that month's rows only
-- (incremental, one row set per month).
{{ per_period_config(['period_start', 'meter_point_id']) }}

with master as (
    {{ master_since_latest_period() }}
),

final as (
    select
        date_trunc('month', settlement_timestamp_utc) as period_start,
        meter_point_id,
        arg_max(gsp_group_id, settlement_timestamp_utc) as gsp_group_id,
        arg_max(profile_class_id, settlement_timestamp_utc) as profile_class_id,
        count(*) as half_hours,
        {{ exact_sum('abs(demand_price_elasticity)') }} as sum_abs_deviation,
        min(settlement_timestamp_utc) as first_reading,
        max(settlement_timestamp_utc) as last_reading
    from master
    group by 1, meter_point_id
)

select * from final
order by period_start, meter_point_id
