-- Distribution of the relative deviation of actual from estimated consumption per gsp_group_id.
{{ config(materialized='table') }}
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with master as (
    select * from {{ ref('demand_price_elasticity') }}
),

final as (
    select
        gsp_group_id,
        count(*) as half_hours,
        round(avg(demand_price_elasticity), 9) as mean_deviation,
        quantile_cont(demand_price_elasticity, 0.5) as median_deviation,
        quantile_cont(demand_price_elasticity, 0.1) as p10_deviation,
        quantile_cont(demand_price_elasticity, 0.9) as p90_deviation
    from master
    group by gsp_group_id
)

select * from final
order by gsp_group_id
