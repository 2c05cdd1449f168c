{#- Schemas are named for their layer (staging, intermediate, marts, reference), not prefixed
    with the target schema: the DuckDB file is the environment. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
