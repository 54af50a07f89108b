{#
    Per-period analytics over the master: the config of a model with one row set per period
    (incremental, delete+insert on its key, the period's start its event_time; meta.period tells
    meterflow the period, 'month' unless given), and the master rows it reads: all of them, or in
    dbt's own incremental runs those from the latest period kept on (meterflow instead reads the whole
    periods that hold the half hours whose readings changed).
#}
{% macro per_period_config(unique_key, period='month') %}
    {{- config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=unique_key,
        event_time='period_start',
        meta={'period': period}
    ) -}}
{% endmacro %}

{% macro master_since_latest_period() %}
    select * from {{ ref('demand_price_elasticity') }}
    {% if is_incremental() %}
    where settlement_timestamp_utc >= (select max(period_start) from {{ this }})
    {% endif %}
{% endmacro %}
