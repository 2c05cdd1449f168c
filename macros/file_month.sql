{#- The first day of the month a TLC file is named for (`yellow_tripdata_2024-01.parquet` ->
    2024-01-01), or null when the name carries no YYYY-MM. -#}
{% macro file_month(column_name) -%}
    try_cast(
        nullif(regexp_extract({{ column_name }}, '([0-9]{4}-[0-9]{2})', 1), '') || '-01' as date
    )
{%- endmacro %}
