{#- Date and time functions whose spelling differs between DuckDB (default__) and Spark. -#}

{#- ISO day of the week, 1 = Monday .. 7 = Sunday, as an integer. -#}
{% macro isodow(timestamp) -%}
    {{ return(adapter.dispatch('isodow', 'tripline')(timestamp)) }}
{%- endmacro %}

{% macro default__isodow(timestamp) -%}
    cast(extract(isodow from {{ timestamp }}) as integer)
{%- endmacro %}

{% macro spark__isodow(timestamp) -%}
    cast(extract(dayofweek_iso from {{ timestamp }}) as integer)
{%- endmacro %}


{#- The instant a unix timestamp in seconds (a number) stands for. -#}
{% macro epoch_to_timestamp(seconds) -%}
    {{ return(adapter.dispatch('epoch_to_timestamp', 'tripline')(seconds)) }}
{%- endmacro %}

{% macro default__epoch_to_timestamp(seconds) -%}
    to_timestamp({{ seconds }})
{%- endmacro %}

{% macro spark__epoch_to_timestamp(seconds) -%}
    timestamp_seconds({{ seconds }})
{%- endmacro %}


{#- A timestamp as text 'YYYY-MM-DD HH:MM:SS' (whole seconds), the same on every engine. -#}
{% macro timestamp_text(timestamp) -%}
    {{ return(adapter.dispatch('timestamp_text', 'tripline')(timestamp)) }}
{%- endmacro %}

{% macro default__timestamp_text(timestamp) -%}
    strftime({{ timestamp }}, '%Y-%m-%d %H:%M:%S')
{%- endmacro %}

{% macro spark__timestamp_text(timestamp) -%}
    date_format({{ timestamp }}, 'yyyy-MM-dd HH:mm:ss')
{%- endmacro %}
