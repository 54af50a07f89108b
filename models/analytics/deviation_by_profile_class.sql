-- Distribution of the relative deviation of actual from estimated consumption per profile_class_id.
{{ config(materialized='table') }}
{{ deviation_distribution('profile_class_id') }}
