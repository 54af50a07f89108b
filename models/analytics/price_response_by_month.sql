-- Per month and profile class, the sums a least-squares fit of log(consumption relative to its
-- estimate) on log(unit rate) needs, over the points of variable-tariff meters with a positive reading
-- and a positive rate: their number, the sums of x and y, of their squares and of their product.
-- Partial aggregates: price_response_variable_tariff fits each class from the sums of all months
-- (sums merge exactly), so a run that changed one month recomputes that month's rows only
-- (incremental, one row set per month).
{{ per_period_config(['period_start', 'profile_class_id']) }}

with master as (
    {{ master_since_latest_period() }}
),

points as (
    select
        date_trunc('month', settlement_timestamp_utc) as period_start,
        profile_class_id,
        ln(unit_rate_pence_per_kwh) as x,
        ln(smart_meter_consumption / estimated_half_hour_consumption) as y
    from master
    where is_variable
        and smart_meter_consumption > 0
        and unit_rate_pence_per_kwh > 0
),

final as (
    select
        period_start,
        profile_class_id,
        count(*) as points,
        {{ exact_sum('x') }} as sum_x,
        {{ exact_sum('y') }} as sum_y,
        {{ exact_sum('x * x') }} as sum_xx,
        {{ exact_sum('y * y') }} as sum_yy,
        {{ exact_sum('x * y') }} as sum_xy
    from points
    group by period_start, profile_class_id
)

select * from final
order by period_start, profile_class_id
