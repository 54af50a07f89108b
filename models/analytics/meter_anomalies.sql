-- Meters whose mean absolute deviation from the estimate, or whose share of missing half hours,
-- is beyond a threshold. The thresholds are the project vars anomaly_mean_abs_deviation_threshold
-- (default 0.5: the actual is on average 50% off the estimate) and anomaly_missing_share_threshold
-- (default 0.05: more than 5% of the meter's half hours, from its first to its last reading, missing).
-- Computed from meter_readings_by_month's per-month partial aggregates, merged exactly; a meter's
-- GSP group and profile class are those of its last reading.
-- Means and fits are rounded to 9 decimals: parallel floating-point sums differ in their last bits
-- from run to run, and a re-run on the same data must give the same table.

with by_month as (
    select * from {{ ref('meter_readings_by_month') }}
),

per_meter as (
    -- the months merged: counts and sums add up, first and last readings are the extremes, and the
    -- GSP group and profile class are those at the last reading
    select
        meter_point_id,
        arg_max(gsp_group_id, last_reading) as gsp_group_id,
        arg_max(profile_class_id, last_reading) as profile_class_id,
        sum(half_hours)::bigint as half_hours,
        min(first_reading) as first_reading,
        max(last_reading) as last_reading,
        round({{ exact_sum('sum_abs_deviation') }} / sum(half_hours), 9) as mean_abs_deviation
    from by_month
    group by meter_point_id
),

with_missing_share as (
    select
        *,
        1 - half_hours / (date_diff('minute', first_reading, last_reading) / 30 + 1) as missing_share
    from per_meter
),

final as (
    select
        meter_point_id,
        gsp_group_id,
        profile_class_id,
        half_hours,
        mean_abs_deviation,
        missing_share,
        mean_abs_deviation > {{ var('anomaly_mean_abs_deviation_threshold', 0.5) }} as is_deviation_anomaly,
        missing_share > {{ var('anomaly_missing_share_threshold', 0.05) }} as is_missing_anomaly,
        {{ var('anomaly_mean_abs_deviation_threshold', 0.5) }} as mean_abs_deviation_threshold,
        {{ var('anomaly_missing_share_threshold', 0.05) }} as missing_share_threshold
    from with_missing_share
)

select * from final
where is_deviation_anomaly or is_missing_anomaly
order by mean_abs_deviation desc
