-- The quarterly reading files overlap at their edges; a reading of the same meter and half hour that
-- appears in two files must have the same value in both, or one of the files is wrong.
{{ config(severity='error') }}

with all_quarters as (
    {{ readings_of_all_quarters() }}
),

disagreements as (
    select
        meter_point_id,
        settlement_timestamp_utc,
        min(smart_meter_consumption) as lowest,
        max(smart_meter_consumption) as highest
    from all_quarters
    group by meter_point_id, settlement_timestamp_utc
    -- two different values (NULLs aside) is exactly a lowest below the highest, which needs no
    -- distinct count per group
    having min(smart_meter_consumption) < max(smart_meter_consumption)
)

select * from disagreements
