{#
    The distribution of the relative deviation of actual from estimated consumption (mean, median,
    p10, p90) per value of one column of the master table, such as gsp_group_id.
    Recomputed from the whole master whenever it changed: a median or percentile of all months cannot
    be merged exactly from per-month parts.
#}
{% macro deviation_distribution(grouping_column) %}
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with master as (
    select * from {{ ref('demand_price_elasticity') }}
),

final as (
    select
        {{ grouping_column }},
        count(*) as half_hours,
        round(avg(demand_price_elasticity), 9) as mean_deviation,
        quantile_cont(demand_price_elasticity, 0.5) as median_deviation,
        quantile_cont(demand_price_elasticity, 0.1) as p10_deviation,
        quantile_cont(demand_price_elasticity, 0.9) as p90_deviation
    from master
    group by {{ grouping_column }}
)

select * from final
order by {{ grouping_column }}
{% endmacro %}
