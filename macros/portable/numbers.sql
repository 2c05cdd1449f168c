{#- Numeric conversions that give the same answer on every engine. -#}

{#- A number as an integer, rounded half away from zero: DuckDB's cast rounds
    (cast(2.7 as integer) is 3), Spark's truncates (2), so Spark rounds first. -#}
{% macro to_integer(number) -%}
    {{ return(adapter.dispatch('to_integer', 'tripline')(number)) }}
{%- endmacro %}

{% macro default__to_integer(number) -%}
    cast({{ number }} as integer)
{%- endmacro %}

{% macro spark__to_integer(number) -%}
    cast(round({{ number }}) as integer)
{%- endmacro %}


{#- A number as fixed-point text with 6 decimals ('12.350000'), for digests: the shortest
    float text differs between engines (2.5e-05 against 2.5E-5). -#}
{% macro number_text(number) -%}
    cast(cast({{ number }} as decimal(24, 6)) as {{ dbt.type_string() }})
{%- endmacro %}


{#- The first 15 hex digits (60 bits) of the MD5 of a text, as a non-negative bigint. -#}
{% macro digest_bigint(text) -%}
    {{ return(adapter.dispatch('digest_bigint', 'tripline')(text)) }}
{%- endmacro %}

{% macro default__digest_bigint(text) -%}
    cast(('0x' || substr(md5({{ text }}), 1, 15)) as bigint)
{%- endmacro %}

{% macro spark__digest_bigint(text) -%}
    cast(conv(substr(md5({{ text }}), 1, 15), 16, 10) as bigint)
{%- endmacro %}
