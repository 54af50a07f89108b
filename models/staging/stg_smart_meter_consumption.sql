-- Half-hourly readings of all four quarterly sources, each meter and half hour once.
-- The quarterly files overlap at their edges, so the same reading can arrive twice; a NULL
-- reading is kept (as NULL) so that it counts as missing rather than vanishing. The lowest of the
-- values the files hold is kept beside it, for the test that overlapping files agree. A table, not a view:
-- its tests and the master model then read the deduplicated readings instead of deduplicating again.
-- Incremental: when new files land, meterflow rebuilds only the half hours they hold (their
-- event_time window), and replaces those rows in place.
{{ per_meter_half_hour_config() }}

with all_quarters as (
    {{ readings_of_all_quarters() }}
),

final as (
    select
        meter_point_id,
        settlement_timestamp_utc,
        -- max ignores NULL: a reading present in one file and NULL in the other keeps the value
        max(smart_meter_consumption) as smart_meter_consumption,
        -- the lowest value the files hold, in the same grouping: below the kept one only where two
        -- overlapping files disagree, which assert_overlapping_readings_agree refuses
        min(smart_meter_consumption) as lowest_consumption
    from all_quarters
    where meter_point_id is not null and settlement_timestamp_utc is not null
    {% if is_incremental() %}
        -- dbt's own incremental runs take the half hours from the latest one kept on; meterflow
        -- instead reads exactly the window of event times whose files changed
        and settlement_timestamp_utc >= (select max(settlement_timestamp_utc) from {{ this }})
    {% endif %}
    group by meter_point_id, settlement_timestamp_utc
)

select * from final
