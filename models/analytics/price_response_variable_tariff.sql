-- Price elasticity of variable-tariff meters: the slope of log(consumption) on log(unit rate)
-- per profile class, with the number of points and r squared. Consumption is taken relative to the
-- settlement estimate of its half hour: demand and price both peak in the evening, so a regression
-- on raw consumption would mistake the daily profile for a response to price. Points need a
-- positive reading and a positive rate (a logarithm needs both).
-- Recomputed from the whole master whenever it changed (the fit is DuckDB's, over all points).
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with master as (
    select * from {{ ref('demand_price_elasticity') }}
),

points as (
    select
        profile_class_id,
        ln(smart_meter_consumption / estimated_half_hour_consumption) as log_consumption,
        ln(unit_rate_pence_per_kwh) as log_unit_rate
    from master
    where is_variable
        and smart_meter_consumption > 0
        and unit_rate_pence_per_kwh > 0
),

fitted as (
    select
        profile_class_id,
        count(*) as points,
        round(regr_slope(log_consumption, log_unit_rate), 9) as price_elasticity,
        round(regr_intercept(log_consumption, log_unit_rate), 9) as intercept,
        round(regr_r2(log_consumption, log_unit_rate), 9) as r_squared
    from points
    group by profile_class_id
),

final as (
    select * from fitted
    where points >= {{ var('price_response_min_points', 48) }}
)

select * from final
order by profile_class_id
