{#- A deterministic key for a raw trip row: 60 bits of the MD5 of its file and every column,
    as a non-negative bigint. TLC records carry no id; a digest of the whole row is stable
    across rebuilds, unlike a row number, and the same on DuckDB and Spark (hash() is not: 64
    bits in one, 32 in the other). Each value enters as engine-independent text (numbers
    fixed-point with 6 decimals, timestamps to the second, a null as ~) joined by '|'.
    Exact duplicate rows within one file share a key (the unique test reports them). -#}
{% macro trip_key() -%}
    {%- set texts = ['_source_file', 'store_and_fwd_flag'] -%}
    {%- set timestamps = ['tpep_pickup_datetime', 'tpep_dropoff_datetime'] -%}
    {%- set columns = [
        '_source_file', 'vendor_id', 'tpep_pickup_datetime', 'tpep_dropoff_datetime',
        'passenger_count', 'trip_distance', 'ratecode_id', 'store_and_fwd_flag',
        'pu_location_id', 'do_location_id', 'payment_type', 'fare_amount', 'extra', 'mta_tax',
        'tip_amount', 'tolls_amount', 'improvement_surcharge', 'total_amount',
        'congestion_surcharge', 'airport_fee', 'cbd_congestion_fee',
    ] -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if column in texts -%}
            {%- set text = column -%}
        {%- elif column in timestamps -%}
            {%- set text = timestamp_text(column) -%}
        {%- else -%}
            {%- set text = number_text(column) -%}
        {%- endif -%}
        {%- do parts.append("coalesce(" ~ text ~ ", '~')") -%}
    {%- endfor -%}
    {{ digest_bigint("concat_ws('|', " ~ parts | join(', ') ~ ")") }}
{%- endmacro %}
