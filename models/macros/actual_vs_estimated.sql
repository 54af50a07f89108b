{#
    Mean actual and mean estimated half-hourly consumption, and mean deviation, per period: the
    period is a date_trunc unit ('day', 'week', 'month'), one analytics model each.
#}
{% macro actual_vs_estimated(date_trunc_unit) %}
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with master as (
    select * from {{ ref('demand_price_elasticity') }}
),

final as (
    select
        date_trunc('{{ date_trunc_unit }}', settlement_timestamp_utc) as period_start,
        count(*) as half_hours,
        count(distinct meter_point_id) as meters,
        round(avg(smart_meter_consumption), 9) as mean_actual_consumption,
        round(avg(estimated_half_hour_consumption), 9) as mean_estimated_consumption,
        round(avg(demand_price_elasticity), 9) as mean_deviation
    from master
    group by 1
)

select * from final
order by period_start
{% endmacro %}
