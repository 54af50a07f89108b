-- Mean actual against mean estimated consumption per settlement period of the day (1-48),
-- weekdays and weekends apart: the per-month sums and counts of half_hourly_load_profile_by_month,
-- merged (exact: a mean over all months is the sum of the months' sums over the sum of their counts).
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with by_month as (
    select * from {{ ref('half_hourly_load_profile_by_month') }}
),

final as (
    select
        settlement_period,
        day_type,
        sum(half_hours)::bigint as half_hours,
        round({{ exact_sum('sum_actual_consumption') }} / sum(half_hours), 9) as mean_actual_consumption,
        round({{ exact_sum('sum_estimated_consumption') }} / sum(half_hours), 9) as mean_estimated_consumption
    from by_month
    group by settlement_period, day_type
)

select * from final
order by day_type, settlement_period
