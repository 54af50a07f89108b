{#
    The histogram bucket of a deviation: floor(x * 1024). Exact (a multiplication by a power of two)
    and never decreasing as x grows, NaN and the infinities included, so all of a bucket's values lie
    between its neighbours'. deviation_histogram_by_month counts values per bucket, and
    deviation_distribution reads the values of a few buckets back from the master: both must bucket
    alike, hence one macro.
#}
{% macro deviation_bucket(column) %}floor({{ column }} * 1024){% endmacro %}
