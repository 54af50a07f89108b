{#
    Mean actual and mean estimated half-hourly consumption, and mean deviation, per period: the
    period is a date_trunc unit ('day', 'week', 'month'), one analytics model each.
    Incremental, one row per period: when the master changed over a window of settlement times only,
    meterflow recomputes the periods that hold the window (read from the master over those whole
    periods: a week may straddle two months) and replaces their rows; dbt's own incremental runs
    recompute from the latest period kept on (is_incremental()). Exact: a period's rows are computed
    from all of its half hours either way.
#}
{% macro actual_vs_estimated(date_trunc_unit) %}
{{- per_period_config('period_start', date_trunc_unit) -}}
-- Means are exact sums (the same to the bit on every run; see exact_sum), rounded to 9 decimals.

with master as (
    {{ master_since_latest_period() }}
),

final as (
    select
        date_trunc('{{ date_trunc_unit }}', settlement_timestamp_utc) as period_start,
        count(*) as half_hours,
        count(distinct meter_point_id) as meters,
        round({{ exact_avg('smart_meter_consumption') }}, 9) as mean_actual_consumption,
        round({{ exact_avg('estimated_half_hour_consumption') }}, 9) as mean_estimated_consumption,
        round({{ exact_avg('demand_price_elasticity') }}, 9) as mean_deviation
    from master
    group by 1
)

select * from final
order by period_start
{% endmacro %}
