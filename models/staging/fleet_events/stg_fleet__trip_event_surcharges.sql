with

source as (

    select * from {{ source('fleet_events', 'trip_events__fare__surcharges') }}

),

renamed as (

    select
        ---------- ids
        _dlt_id as surcharge_id,
        _dlt_parent_id as event_record_id,

        ---------- strings
        kind as surcharge_kind,

        ---------- numerics
        amount as surcharge_amount,
        cast(_dlt_list_idx as integer) as surcharge_position

    from source

)

select * from renamed
