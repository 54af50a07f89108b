-- Mean actual and mean estimated half-hourly consumption, and mean deviation, per day.
{{ config(materialized='table') }}
{{ actual_vs_estimated('day') }}
