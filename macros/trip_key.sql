{#- A deterministic key for a raw trip row: 60 bits of the MD5 of its file and every column,
    as a non-negative bigint. TLC records carry no id; a digest of the whole row is stable
    across rebuilds, unlike a row number, and the same on DuckDB and Spark (hash() is not: 64
    bits in one, 32 in the other). Each value enters as engine-independent text (numbers
    fixed-point with 6 decimals, timestamps to the second, a null as ~) joined by '|'.
    Exact duplicate rows within one file share a key (the unique test reports them).
    columns: [name, type] pairs of the file kind's raw columns (default: the yellow taxi's);
    the file name keeps the keys of different services apart. -#}
{% macro trip_key(columns=none) -%}
    {%- set columns = columns or [
        ['vendor_id', 'bigint'], ['tpep_pickup_datetime', 'timestamp'],
        ['tpep_dropoff_datetime', 'timestamp'], ['passenger_count', 'bigint'],
        ['trip_distance', 'double'], ['ratecode_id', 'bigint'],
        ['store_and_fwd_flag', 'string'], ['pu_location_id', 'bigint'],
        ['do_location_id', 'bigint'], ['payment_type', 'bigint'], ['fare_amount', 'double'],
        ['extra', 'double'], ['mta_tax', 'double'], ['tip_amount', 'double'],
        ['tolls_amount', 'double'], ['improvement_surcharge', 'double'],
        ['total_amount', 'double'], ['congestion_surcharge', 'double'],
        ['airport_fee', 'double'], ['cbd_congestion_fee', 'double'],
    ] -%}
    {%- set parts = ["coalesce(_source_file, '~')"] -%}
    {%- for name, type in columns -%}
        {%- set type = type | lower -%}
        {%- if 'char' in type or 'string' in type or 'text' in type -%}
            {%- set text = name -%}
        {%- elif 'timestamp' in type -%}
            {%- set text = timestamp_text(name) -%}
        {%- else -%}
            {%- set text = number_text(name) -%}
        {%- endif -%}
        {%- do parts.append("coalesce(" ~ text ~ ", '~')") -%}
    {%- endfor -%}
    {{ digest_bigint("concat_ws('|', " ~ parts | join(', ') ~ ")") }}
{%- endmacro %}
