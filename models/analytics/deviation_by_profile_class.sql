-- Distribution of the relative deviation of actual from estimated consumption per profile_class_id.
{{ deviation_distribution('profile_class_id') }}
