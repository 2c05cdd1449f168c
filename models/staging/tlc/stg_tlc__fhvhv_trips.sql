{#- High-volume for-hire trips (Juno, Uber, Via, Lyft: the company is hvfhs_license_num,
    seed tlc_services), with what the rider paid and what the driver was paid. A warehouse
    that never loaded fhvhv gets an empty view (macro optional_source). -#}
{%- set raw_columns = [
    ['hvfhs_license_num', dbt.type_string()],
    ['dispatching_base_num', dbt.type_string()],
    ['originating_base_num', dbt.type_string()],
    ['request_datetime', dbt.type_timestamp()],
    ['on_scene_datetime', dbt.type_timestamp()],
    ['pickup_datetime', dbt.type_timestamp()],
    ['dropoff_datetime', dbt.type_timestamp()],
    ['pu_location_id', 'bigint'],
    ['do_location_id', 'bigint'],
    ['trip_miles', 'double'],
    ['trip_time', 'bigint'],
    ['base_passenger_fare', 'double'],
    ['tolls', 'double'],
    ['bcf', 'double'],
    ['sales_tax', 'double'],
    ['congestion_surcharge', 'double'],
    ['airport_fee', 'double'],
    ['tips', 'double'],
    ['driver_pay', 'double'],
    ['shared_request_flag', dbt.type_string()],
    ['shared_match_flag', dbt.type_string()],
    ['access_a_ride_flag', dbt.type_string()],
    ['wav_request_flag', dbt.type_string()],
    ['wav_match_flag', dbt.type_string()],
    ['cbd_congestion_fee', 'double'],
    ['_source_file', dbt.type_string()],
    ['_dlt_load_id', dbt.type_string()],
] -%}
with

source as (

    {{ optional_source('tlc', 'fhvhv_trips', raw_columns) }}

),

renamed as (

    select
        ---------- ids
        {{ trip_key(raw_columns[:-2]) }} as trip_id,
        cast(pu_location_id as integer) as pickup_location_id,
        cast(do_location_id as integer) as dropoff_location_id,

        ---------- strings
        upper(trim(hvfhs_license_num)) as hvfhs_license_num,
        upper(trim(dispatching_base_num)) as dispatching_base_num,
        upper(trim(originating_base_num)) as originating_base_num,
        _source_file as source_file,
        _dlt_load_id as load_id,

        ---------- numerics
        cast(trip_miles as double) as trip_distance_miles,
        cast(trip_time as integer) as trip_time_seconds,
        cast(base_passenger_fare as double) as base_passenger_fare_amount,
        cast(tolls as double) as tolls_amount,
        cast(bcf as double) as black_car_fund_amount,
        cast(sales_tax as double) as sales_tax_amount,
        cast(congestion_surcharge as double) as congestion_surcharge_amount,
        cast(airport_fee as double) as airport_fee_amount,
        cast(cbd_congestion_fee as double) as cbd_congestion_fee_amount,
        cast(tips as double) as tip_amount,
        cast(driver_pay as double) as driver_pay_amount,

        ---------- booleans
        coalesce(upper(shared_request_flag) = 'Y', false) as is_shared_request,
        coalesce(upper(shared_match_flag) = 'Y', false) as is_shared_match,
        coalesce(upper(access_a_ride_flag) = 'Y', false) as is_access_a_ride,
        coalesce(upper(wav_request_flag) = 'Y', false) as is_wav_request,
        coalesce(upper(wav_match_flag) = 'Y', false) as is_wav_match,

        ---------- dates and timestamps (New York local wall-clock time, no time zone)
        {{ file_month('_source_file') }} as source_file_month,
        cast(request_datetime as timestamp) as requested_at_local,
        cast(on_scene_datetime as timestamp) as on_scene_at_local,
        cast(pickup_datetime as timestamp) as pickup_at_local,
        cast(dropoff_datetime as timestamp) as dropoff_at_local,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
