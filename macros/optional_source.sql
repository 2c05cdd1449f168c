{#- A select over a source table that may not exist yet, or may lack some columns.
    columns is a list of [name, type] pairs (types from dbt's cross-database macros, e.g.
    dbt.type_string()). When the table exists, each listed column it has is selected as it
    is and each it lacks as a typed null; when it does not exist (a warehouse that never
    loaded that service), the result is an empty relation of the same columns and types, so
    the models downstream build and stay empty. Only the listed columns are selected. -#}
{% macro optional_source(source_name, table_name, columns) -%}
    {%- set declared = source(source_name, table_name) -%}
    {%- set relation = none -%}
    {%- set present = [] -%}
    {%- if execute and target.type == 'spark' -%}
        {#- Spark reads the lake by path: which tables and columns it holds comes from
            TRIPLINE_LAKE_TABLES, set by ingestion.dbt_spark.lake_tables. -#}
        {%- set lake = fromjson(env_var('TRIPLINE_LAKE_TABLES', '{}')) -%}
        {%- set raw = builtins.source(source_name, table_name) -%}
        {%- set key = raw.schema ~ '.' ~ raw.identifier -%}
        {%- if key in lake -%}
            {%- set relation = declared -%}
            {%- for name in lake[key] -%}
                {%- do present.append(name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- elif execute -%}
        {%- set relation = adapter.get_relation(
            database=declared.database, schema=declared.schema, identifier=declared.identifier
        ) -%}
        {%- if relation is not none -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- do present.append(column.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif %}
    select
        {%- for name, type in columns %}
        {% if name | lower in present -%}
            {{ name }}
        {%- else -%}
            cast(null as {{ type }}) as {{ name }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    {%- if relation is not none %}
    from {{ declared }}
    {%- else %}
    -- {{ declared }} does not exist: an empty relation of its columns
    where 1 = 0
    {%- endif %}
{%- endmacro %}
