with

source as (

    select * from {{ source('fleet_events', 'trip_events_dead_letter') }}

),

renamed as (

    select
        ---------- ids
        topic || ':' || cast(partition as varchar) || ':' || cast("offset" as varchar)
            as dead_letter_id,
        topic as kafka_topic,
        cast(partition as integer) as kafka_partition,
        "offset" as kafka_offset,

        ---------- strings
        reason as rejection_reason,
        raw_base64,

        ---------- timestamps
        timezone('UTC', kafka_timestamp) as produced_at,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
