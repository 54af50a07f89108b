-- Distribution of the relative deviation of actual from estimated consumption per gsp_group_id.
{{ config(materialized='table') }}
{{ deviation_distribution('gsp_group_id') }}
