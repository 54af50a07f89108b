-- Per month, profile class, GSP group and bucket of the deviation (deviation_bucket: floor(x * 1024)):
-- the half hours, the deviations (NULLs aside) and their sum. Partial aggregates:
-- deviation_by_profile_class and deviation_by_gsp_group merge them into each group's count, mean and
-- the buckets that hold its median and percentiles (counts and sums merge exactly), so a run that
-- changed one month recomputes that month's rows only (incremental, one row set per month).
{{ per_period_config(['period_start', 'profile_class_id', 'gsp_group_id', 'bucket']) }}

with master as (
    {{ master_since_latest_period() }}
),

by_month as (
    -- grouped on the year and month first: date_trunc on every row costs more than the grouping
    select
        year(settlement_timestamp_utc) as period_year,
        month(settlement_timestamp_utc) as period_month,
        profile_class_id,
        gsp_group_id,
        {{ deviation_bucket('demand_price_elasticity') }} as bucket,
        count(*) as half_hours,
        count(demand_price_elasticity) as deviations,
        {{ exact_sum('demand_price_elasticity') }} as sum_deviation
    from master
    group by all
),

final as (
    select
        make_timestamp(period_year, period_month, 1, 0, 0, 0) as period_start,
        profile_class_id,
        gsp_group_id,
        bucket,
        half_hours,
        deviations,
        sum_deviation
    from by_month
)

select * from final
order by period_start, profile_class_id, gsp_group_id, bucket
