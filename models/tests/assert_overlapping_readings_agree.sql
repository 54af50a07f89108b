-- The quarterly reading files overlap at their edges; a reading of the same meter and half hour that
-- appears in two files must have the same value in both, or one of the files is wrong.
-- stg_smart_meter_consumption keeps each half hour once with the highest and the lowest value its
-- files hold (NULLs aside), in the grouping that deduplicates them: two different values are exactly
-- a lowest below the highest, and this test reads the staged rows instead of grouping the sources again.
{{ config(severity='error') }}

select
    meter_point_id,
    settlement_timestamp_utc,
    lowest_consumption as lowest,
    smart_meter_consumption as highest
from {{ ref('stg_smart_meter_consumption') }}
where lowest_consumption < smart_meter_consumption
