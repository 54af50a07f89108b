-- Price elasticity of variable-tariff meters: the slope of log(consumption) on log(unit rate)
-- per profile class, with the number of points and r squared. Consumption is taken relative to the
-- settlement estimate of its half hour: demand and price both peak in the evening, so a regression
-- on raw consumption would mistake the daily profile for a response to price. Points need a
-- positive reading and a positive rate (a logarithm needs both).
-- The least-squares fit from the per-month sums of price_response_by_month (n, sums of x, y, x², y²
-- and xy merge exactly over months), as DuckDB's regr_slope, regr_intercept and regr_r2 define it:
-- no slope, intercept nor r squared where log(rate) does not vary (its variance below 1e-9 of its
-- mean square: rounding, not spread; regr_slope gives NaN there), and r squared 1 where
-- log(consumption) does not.
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with by_month as (
    select * from {{ ref('price_response_by_month') }}
),

sums as (
    select
        profile_class_id,
        sum(points)::bigint as points,
        {{ exact_sum('sum_x') }} as sum_x,
        {{ exact_sum('sum_y') }} as sum_y,
        {{ exact_sum('sum_xx') }} as sum_xx,
        {{ exact_sum('sum_yy') }} as sum_yy,
        {{ exact_sum('sum_xy') }} as sum_xy
    from by_month
    group by profile_class_id
),

moments as (
    -- population variances and covariance, and the mean squares the variances are judged against
    select
        profile_class_id,
        points,
        sum_x / points as mean_x,
        sum_y / points as mean_y,
        (sum_xx - sum_x * sum_x / points) / points as var_x,
        (sum_yy - sum_y * sum_y / points) / points as var_y,
        (sum_xy - sum_x * sum_y / points) / points as covar,
        sum_xx / points as mean_square_x,
        sum_yy / points as mean_square_y
    from sums
),

fitted as (
    select
        profile_class_id,
        points,
        case when var_x > 1e-9 * mean_square_x then covar / var_x end as slope,
        case
            when not (var_x > 1e-9 * mean_square_x) then null
            when not (var_y > 1e-9 * mean_square_y) then 1
            else covar * covar / (var_x * var_y)
        end as r_squared,
        mean_x,
        mean_y
    from moments
),

final as (
    select
        profile_class_id,
        points,
        round(slope, 9) as price_elasticity,
        round(mean_y - slope * mean_x, 9) as intercept,
        round(r_squared, 9) as r_squared
    from fitted
    where points >= {{ var('price_response_min_points', 48) }}
)

select * from final
order by profile_class_id
