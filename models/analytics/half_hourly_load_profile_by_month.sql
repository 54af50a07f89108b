-- Per month, settlement period of the day (1-48) and day type (weekday, weekend): the half hours,
-- and the sums of actual and estimated consumption. Partial aggregates: half_hourly_load_profile
-- merges them into means over all months (sums and counts merge exactly), so a run that changed one
-- month recomputes that month's rows only (incremental, one row set per month, as the daily models).
{{ per_period_config(['period_start', 'settlement_period', 'day_type']) }}

with master as (
    {{ master_since_latest_period() }}
),

periods as (
    select
        date_trunc('month', settlement_timestamp_utc) as period_start,
        (hour(settlement_timestamp_utc) * 2 + minute(settlement_timestamp_utc) // 30 + 1)::integer as settlement_period,
        case when isodow(settlement_timestamp_utc) >= 6 then 'weekend' else 'weekday' end as day_type,
        smart_meter_consumption,
        estimated_half_hour_consumption
    from master
),

final as (
    select
        period_start,
        settlement_period,
        day_type,
        count(*) as half_hours,
        {{ exact_sum('smart_meter_consumption') }} as sum_actual_consumption,
        {{ exact_sum('estimated_half_hour_consumption') }} as sum_estimated_consumption
    from periods
    group by period_start, settlement_period, day_type
)

select * from final
order by period_start, day_type, settlement_period
