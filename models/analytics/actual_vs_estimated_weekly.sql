-- Mean actual and mean estimated half-hourly consumption, and mean deviation, per week.
{{ config(materialized='table') }}
{{ actual_vs_estimated('week') }}
