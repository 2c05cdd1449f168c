{#- Green taxi (boro cab, LPEP) trips, shaped like the yellow staging model so the two
    union column for column in int_trips_unioned. A warehouse that never loaded green gets
    an empty view (macro optional_source). -#}
{%- set raw_columns = [
    ['vendor_id', 'bigint'],
    ['lpep_pickup_datetime', dbt.type_timestamp()],
    ['lpep_dropoff_datetime', dbt.type_timestamp()],
    ['store_and_fwd_flag', dbt.type_string()],
    ['ratecode_id', 'bigint'],
    ['pu_location_id', 'bigint'],
    ['do_location_id', 'bigint'],
    ['passenger_count', 'bigint'],
    ['trip_distance', 'double'],
    ['fare_amount', 'double'],
    ['extra', 'double'],
    ['mta_tax', 'double'],
    ['tip_amount', 'double'],
    ['tolls_amount', 'double'],
    ['ehail_fee', 'double'],
    ['improvement_surcharge', 'double'],
    ['total_amount', 'double'],
    ['payment_type', 'bigint'],
    ['trip_type', 'bigint'],
    ['congestion_surcharge', 'double'],
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

    {{ optional_source('tlc', 'green_trips', raw_columns) }}

),

renamed as (

    select
        ---------- ids
        {{ trip_key(raw_columns[:-2]) }} as trip_id,
        cast(vendor_id as integer) as vendor_id,
        cast(ratecode_id as integer) as rate_code_id,
        cast(payment_type as integer) as payment_type_id,
        cast(trip_type as integer) as trip_type_id,
        cast(pu_location_id as integer) as pickup_location_id,
        cast(do_location_id as integer) as dropoff_location_id,

        ---------- strings
        _source_file as source_file,
        _dlt_load_id as load_id,
        pu_zone_status as pickup_zone_status,
        do_zone_status as dropoff_zone_status,

        ---------- numerics
        cast(passenger_count as integer) as passenger_count,
        cast(trip_distance as double) as trip_distance_miles,
        cast(fare_amount as double) as fare_amount,
        cast(extra as double) as extra_amount,
        cast(mta_tax as double) as mta_tax_amount,
        cast(tip_amount as double) as tip_amount,
        cast(tolls_amount as double) as tolls_amount,
        cast(ehail_fee as double) as ehail_fee_amount,
        cast(improvement_surcharge as double) as improvement_surcharge_amount,
        cast(congestion_surcharge as double) as congestion_surcharge_amount,
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
        cast(lpep_pickup_datetime as timestamp) as pickup_at_local,
        cast(lpep_dropoff_datetime as timestamp) as dropoff_at_local,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
