-- Distribution of the relative deviation of actual from estimated consumption per gsp_group_id.
{{ deviation_distribution('gsp_group_id') }}
