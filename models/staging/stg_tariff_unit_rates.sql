-- Tariff unit rates per GSP group, product and validity interval [from, to).
{{ config(materialized='view') }}

with source as (
    select * from {{ source('raw', 'tariff_unit_rates') }}
),

final as (
    -- the same row delivered twice (a file landed again under another name) counts once
    select distinct
        gsp_group_id,
        product_category,
        is_variable,
        valid_from,
        coalesce(valid_to, timestamp '9999-12-31') as valid_to,
        unit_rate_pence_per_kwh
    from source
)

select * from final
