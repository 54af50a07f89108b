{#
    A staging view of a source whose rows hold for a validity interval [start, end): the given
    columns, each row once (the same row delivered twice, in a file landed again under another
    name, counts once), an open interval (its end NULL) ending never (9999-12-31), and, when
    `required` names a column, only the rows where it is set.
#}
{% macro validity_intervals(source_table, columns, interval_end, required=none) %}
with source as (
    select * from {{ source('raw', source_table) }}
),

final as (
    select distinct
    {%- for column in columns %}
        {% if column == interval_end %}coalesce({{ column }}, timestamp '9999-12-31') as {{ column }}{% else %}{{ column }}{% endif %}
        {{- ',' if not loop.last }}
    {%- endfor %}
    from source
    {%- if required %}
    where {{ required }} is not null
    {%- endif %}
)

select * from final
{% endmacro %}
