-- Distribution of the relative deviation of actual from estimated consumption per gsp_group_id.
{{ config(materialized='table') }}

with master as (
    select * from {{ ref('demand_price_elasticity') }}
),

final as (
    select
        gsp_group_id,
        count(*) as half_hours,
        avg(demand_price_elasticity) as mean_deviation,
        quantile_cont(demand_price_elasticity, 0.5) as median_deviation,
        quantile_cont(demand_price_elasticity, 0.1) as p10_deviation,
        quantile_cont(demand_price_elasticity, 0.9) as p90_deviation
    from master
    group by gsp_group_id
)

select * from final
order by gsp_group_id
