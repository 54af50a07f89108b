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

distribution as (
    -- the three quantiles from one ordering of each group's values (three quantile_cont calls would
    -- keep and order them three times): the same values, in less than half the time
    select
        {{ grouping_column }},
        count(*) as half_hours,
        round(avg(demand_price_elasticity), 9) as mean_deviation,
        quantile_cont(demand_price_elasticity, [0.5, 0.1, 0.9]) as quantiles
    from master
    group by {{ grouping_column }}
),

final as (
    select
        {{ grouping_column }},
        half_hours,
        mean_deviation,
        quantiles[1] as median_deviation,
        quantiles[2] as p10_deviation,
        quantiles[3] as p90_deviation
    from distribution
)

select * from final
order by {{ grouping_column }}
{% endmacro %}
