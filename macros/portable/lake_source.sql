{#- source() on the lakehouse target reads the lake's Delta table by path:
    delta.`<TRIPLINE_LAKE_URL>/<dataset>/<table>`, the layout dlt's filesystem destination
    writes (dataset = the source's schema, e.g. raw_tlc). Nothing is registered in Spark's
    metastore, so a source the selection never reads need not exist in the lake. Every other
    target gets dbt's own source(). -#}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- if target.type == 'spark' -%}
        {%- set lake = env_var('TRIPLINE_LAKE_URL', 'data/lake') | trim -%}
        {{ return('delta.`' ~ lake.rstrip('/') ~ '/' ~ relation.schema ~ '/' ~ relation.identifier ~ '`') }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
