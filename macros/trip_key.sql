{#- A deterministic 64-bit key for a raw trip row: the hash of its file and every column.
    TLC records carry no id; a hash of the whole row is stable across rebuilds, unlike a row
    number. Exact duplicate rows within one file share a key (the unique test reports them).
    columns: the raw columns of the file kind (default: the yellow taxi's); the file name
    keeps the keys of different services apart. -#}
{% macro trip_key(columns=none) -%}
    {%- set columns = columns or [
        'vendor_id', 'tpep_pickup_datetime', 'tpep_dropoff_datetime', 'passenger_count',
        'trip_distance', 'ratecode_id', 'store_and_fwd_flag', 'pu_location_id',
        'do_location_id', 'payment_type', 'fare_amount', 'extra', 'mta_tax', 'tip_amount',
        'tolls_amount', 'improvement_surcharge', 'total_amount', 'congestion_surcharge',
        'airport_fee', 'cbd_congestion_fee',
    ] -%}
    hash(
        _source_file,
        {%- for column in columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
