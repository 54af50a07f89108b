{#
    Sums and means of DOUBLE columns that are the same to the bit on every run. DuckDB sums doubles
    in parallel, and the order its threads' partial sums are added in changes from run to run, so a
    plain sum(x) differs in its last bits between two runs on the same data. Each value is summed as
    DECIMAL(38, 12) instead: integer addition, which gives one result in any order. Each value is
    kept to 12 decimals, and within a bit of its own where it has more than 15 digits (DuckDB's cast
    multiplies in DOUBLE); the range is ±1e26, which the master's
    accepted_range tests keep its sums in. The sum becomes a double through its text, the one
    conversion that rounds it correctly (DECIMAL to DOUBLE directly may be a bit off).
#}
{% macro exact_sum(expression) %}cast(cast(sum(cast({{ expression }} as decimal(38, 12))) as varchar) as double){% endmacro %}

{% macro exact_avg(expression) %}({{ exact_sum(expression) }} / nullif(count({{ expression }}), 0)){% endmacro %}
