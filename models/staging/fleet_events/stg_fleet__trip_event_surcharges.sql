with

source as (

    select * from {{ source('fleet_events', 'trip_event_surcharges') }}

),

renamed as (

    select
        ---------- ids
        event_id,

        ---------- strings
        kind as surcharge_kind,

        ---------- numerics
        amount as surcharge_amount,
        cast(surcharge_position as integer) as surcharge_position,

        ---------- timestamps
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
