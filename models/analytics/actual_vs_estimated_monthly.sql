-- Mean actual and mean estimated half-hourly consumption, and mean deviation, per month.
{{ config(materialized='table') }}
{{ actual_vs_estimated('month') }}
