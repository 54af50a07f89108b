{#
    The distribution of the relative deviation of actual from estimated consumption (mean, median,
    p10, p90) per value of one column of the master table, such as gsp_group_id.

    Exact, and equal to quantile_cont's, without ordering every group's values (one group may hold
    most of the rows, and its ordering is one thread):
    1. the histogram of deviation_histogram_by_month, merged over the months (counts per bucket
       deviation_bucket(x), which never decreases as x grows), gives each group's count and mean and
       the bucket of each rank a quantile needs; a run that changed one month recounted that month;
    2. the master's values in the few buckets that hold a wanted rank, read again and
       ordered: the rank's value, interpolated between the two neighbouring ranks as quantile_cont does.
    Values far apart make more buckets (at most one per value), never a wrong result.
#}
{% macro deviation_distribution(grouping_column) %}
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with master as (
    select
        {{ grouping_column }},
        demand_price_elasticity as deviation,
        {{ deviation_bucket('demand_price_elasticity') }} as bucket
    from {{ ref('demand_price_elasticity') }}
),

buckets as (
    select
        {{ grouping_column }},
        bucket,
        sum(half_hours)::bigint as half_hours,
        sum(deviations)::bigint as deviations,
        {{ exact_sum('sum_deviation') }} as sum_deviation
    from {{ ref('deviation_histogram_by_month') }}
    group by all
),

groups as (
    select
        {{ grouping_column }},
        sum(half_hours)::bigint as half_hours,
        round({{ exact_sum('sum_deviation') }} / nullif(sum(deviations), 0), 9) as mean_deviation
    from buckets
    group by all
),

ranked as (
    -- a bucket's values are the group's ranks from `below` on (0-based, ascending, NULLs left out)
    select
        {{ grouping_column }},
        bucket,
        deviations,
        coalesce(
            sum(deviations) over (partition by {{ grouping_column }} order by bucket rows between unbounded preceding and 1 preceding),
            0
        )::bigint as below,
        sum(deviations) over (partition by {{ grouping_column }})::bigint as group_deviations
    from buckets
    where bucket is not null
),

positions as (
    -- quantile_cont's position of quantile q among n values: (n - 1) * q, in double precision
    select
        ranked.{{ grouping_column }},
        quantile.q,
        (ranked.group_deviations - 1)::double * quantile.q as position
    from (select distinct {{ grouping_column }}, group_deviations from ranked) as ranked
    cross join (values (0.5::double), (0.1::double), (0.9::double)) as quantile (q)
),

wanted as (
    -- the ranks on either side of each position, and the bucket holding each
    select
        positions.{{ grouping_column }},
        positions.q,
        positions.position,
        neighbour.side,
        ranked.bucket,
        neighbour.rank_in_group - ranked.below + 1 as index_in_bucket
    from positions
    cross join lateral (
        select 'lower' as side, floor(positions.position)::bigint as rank_in_group
        union all
        select 'upper' as side, ceil(positions.position)::bigint as rank_in_group
    ) as neighbour
    inner join ranked
        on ranked.{{ grouping_column }} is not distinct from positions.{{ grouping_column }}
        and ranked.below <= neighbour.rank_in_group
        and neighbour.rank_in_group < ranked.below + ranked.deviations
),

wanted_buckets as (
    select distinct {{ grouping_column }}, bucket from wanted
),

bucket_values as (
    -- second pass: the values of the wanted groups' buckets (a few per quantile and group), ordered.
    -- A hash join probed by every master row: the wanted buckets are its small build side. (Bands of
    -- buckets compared row by row cost 2.8 times as much, measured: DuckDB's comparisons of doubles
    -- are NaN-aware and so dearer than the probe.)
    select
        master.{{ grouping_column }},
        master.bucket,
        list_sort(list(master.deviation)) as sorted_deviations
    from master
    inner join wanted_buckets
        on wanted_buckets.{{ grouping_column }} is not distinct from master.{{ grouping_column }}
        and wanted_buckets.bucket = master.bucket
    group by all
),

quantiles as (
    select
        wanted.{{ grouping_column }},
        wanted.q,
        wanted.position,
        max(bucket_values.sorted_deviations[wanted.index_in_bucket]) filter (where wanted.side = 'lower') as lower_value,
        max(bucket_values.sorted_deviations[wanted.index_in_bucket]) filter (where wanted.side = 'upper') as upper_value
    from wanted
    inner join bucket_values
        on bucket_values.{{ grouping_column }} is not distinct from wanted.{{ grouping_column }}
        and bucket_values.bucket = wanted.bucket
    group by all
),

interpolated as (
    -- quantile_cont's interpolation, term for term (lower + (upper - lower) * d differs in the last bit)
    select
        {{ grouping_column }},
        q,
        lower_value * (1 - (position - floor(position))) + upper_value * (position - floor(position)) as deviation
    from quantiles
),

final as (
    select
        groups.{{ grouping_column }},
        groups.half_hours,
        groups.mean_deviation,
        median.deviation as median_deviation,
        p10.deviation as p10_deviation,
        p90.deviation as p90_deviation
    from groups
    left join interpolated as median on median.{{ grouping_column }} is not distinct from groups.{{ grouping_column }} and median.q = 0.5
    left join interpolated as p10 on p10.{{ grouping_column }} is not distinct from groups.{{ grouping_column }} and p10.q = 0.1
    left join interpolated as p90 on p90.{{ grouping_column }} is not distinct from groups.{{ grouping_column }} and p90.q = 0.9
)

select * from final
order by {{ grouping_column }}
{% endmacro %}
