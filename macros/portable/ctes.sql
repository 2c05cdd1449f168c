{#- A CTE read several times, inlined instead of stored: DuckDB 2 otherwise writes the
    whole result to a temporary table and reads it back (bench/results/dbt.md); Spark has
    no such keyword and inlines CTEs itself. Use: name as {{ cte_inlined() }} ( ... ). -#}
{% macro cte_inlined() -%}
    {{ return(adapter.dispatch('cte_inlined', 'tripline')()) }}
{%- endmacro %}

{% macro default__cte_inlined() -%}
    not materialized
{%- endmacro %}

{% macro spark__cte_inlined() -%}
{%- endmacro %}
