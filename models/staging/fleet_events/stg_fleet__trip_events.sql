with

source as (

    select * from {{ source('fleet_events', 'trip_events') }}

),

renamed as (

    select
        ---------- ids
        event_id,
        trip_id,
        cast(driver_id as integer) as driver_id,
        cast(vehicle_id as integer) as vehicle_id,
        cast(pickup_zone_id as integer) as pickup_zone_id,
        cast(dropoff_zone_id as integer) as dropoff_zone_id,
        cast(location__zone_id as integer) as location_zone_id,

        ---------- strings
        event_type,
        cancelled_by,
        cancel_reason,
        fare__currency as fare_currency,

        ---------- numerics
        distance_miles,
        location__lat as location_lat,
        location__lon as location_lon,
        fare__base_amount as fare_base_amount,
        fare__tip_amount as fare_tip_amount,
        fare__tolls_amount as fare_tolls_amount,
        fare__total_amount as fare_total_amount,
        cast(kafka_partition as integer) as kafka_partition,
        kafka_offset,

        ---------- timestamps
        timezone('UTC', event_time) as event_at,
        timezone('UTC', kafka_timestamp) as produced_at,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
