{#- The raw columns are listed once, with their types: a column an older load lacks (the
    coordinates and zone statuses of the coordinate eras) is a typed null, not an error. -#}
{%- set raw_columns = [
    ['vendor_id', 'bigint'],
    ['tpep_pickup_datetime', dbt.type_timestamp()],
    ['tpep_dropoff_datetime', dbt.type_timestamp()],
    ['passenger_count', 'bigint'],
    ['trip_distance', 'double'],
    ['ratecode_id', 'bigint'],
    ['store_and_fwd_flag', dbt.type_string()],
    ['pu_location_id', 'bigint'],
    ['do_location_id', 'bigint'],
    ['payment_type', 'bigint'],
    ['fare_amount', 'double'],
    ['extra', 'double'],
    ['mta_tax', 'double'],
    ['tip_amount', 'double'],
    ['tolls_amount', 'double'],
    ['improvement_surcharge', 'double'],
    ['total_amount', 'double'],
    ['congestion_surcharge', 'double'],
    ['airport_fee', 'double'],
    ['cbd_congestion_fee', 'double'],
    ['pickup_longitude', 'double'],
    ['pickup_latitude', 'double'],
    ['dropoff_longitude', 'double'],
    ['dropoff_latitude', 'double'],
    ['pu_zone_status', dbt.type_string()],
    ['do_zone_status', dbt.type_string()],
    ['_source_file', dbt.type_string()],
    ['_dlt_load_id', dbt.type_string()],
] -%}
with

source as (

    {{ optional_source('tlc', 'yellow_trips', raw_columns) }}

),

renamed as (

    select
        ---------- ids
        {{ trip_key() }} as trip_id,
        {{ to_integer('vendor_id') }} as vendor_id,
        {{ to_integer('ratecode_id') }} as rate_code_id,
        {{ to_integer('payment_type') }} as payment_type_id,
        {{ to_integer('pu_location_id') }} as pickup_location_id,
        {{ to_integer('do_location_id') }} as dropoff_location_id,

        ---------- strings
        _source_file as source_file,
        _dlt_load_id as load_id,
        pu_zone_status as pickup_zone_status,
        do_zone_status as dropoff_zone_status,

        ---------- numerics
        {{ to_integer('passenger_count') }} as passenger_count,
        cast(trip_distance as double) as trip_distance_miles,
        cast(fare_amount as double) as fare_amount,
        cast(extra as double) as extra_amount,
        cast(mta_tax as double) as mta_tax_amount,
        cast(tip_amount as double) as tip_amount,
        cast(tolls_amount as double) as tolls_amount,
        cast(improvement_surcharge as double) as improvement_surcharge_amount,
        cast(congestion_surcharge as double) as congestion_surcharge_amount,
        cast(airport_fee as double) as airport_fee_amount,
        cast(cbd_congestion_fee as double) as cbd_congestion_fee_amount,
        cast(total_amount as double) as total_amount,
        cast(pickup_longitude as double) as pickup_longitude,
        cast(pickup_latitude as double) as pickup_latitude,
        cast(dropoff_longitude as double) as dropoff_longitude,
        cast(dropoff_latitude as double) as dropoff_latitude,

        ---------- booleans
        coalesce(upper(store_and_fwd_flag) = 'Y', false) as is_store_and_forward,

        ---------- dates and timestamps (New York local wall-clock time, no time zone)
        {{ file_month('_source_file') }} as source_file_month,
        cast(tpep_pickup_datetime as timestamp) as pickup_at_local,
        cast(tpep_dropoff_datetime as timestamp) as dropoff_at_local,
        {{ epoch_to_timestamp('cast(_dlt_load_id as double)') }} as loaded_at

    from source

)

select * from renamed
