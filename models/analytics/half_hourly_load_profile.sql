-- Mean actual against mean estimated consumption per settlement period of the day (1-48),
-- weekdays and weekends apart.
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with master as (
    select * from {{ ref('demand_price_elasticity') }}
),

periods as (
    select
        (hour(settlement_timestamp_utc) * 2 + minute(settlement_timestamp_utc) // 30 + 1)::integer as settlement_period,
        case when isodow(settlement_timestamp_utc) >= 6 then 'weekend' else 'weekday' end as day_type,
        smart_meter_consumption,
        estimated_half_hour_consumption
    from master
),

final as (
    select
        settlement_period,
        day_type,
        count(*) as half_hours,
        round(avg(smart_meter_consumption), 9) as mean_actual_consumption,
        round(avg(estimated_half_hour_consumption), 9) as mean_estimated_consumption
    from periods
    group by settlement_period, day_type
)

select * from final
order by day_type, settlement_period
