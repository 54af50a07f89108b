-- Mean actual and mean estimated half-hourly consumption, and mean deviation, per week.
{{ config(materialized='table') }}

with master as (
    select * from {{ ref('demand_price_elasticity') }}
),

final as (
    select
        date_trunc('week', settlement_timestamp_utc) as period_start,
        count(*) as half_hours,
        count(distinct meter_point_id) as meters,
        avg(smart_meter_consumption) as mean_actual_consumption,
        avg(estimated_half_hour_consumption) as mean_estimated_consumption,
        avg(demand_price_elasticity) as mean_deviation
    from master
    group by 1
)

select * from final
order by period_start
