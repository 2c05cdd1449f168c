with

source as (

    select * from {{ source('fleet_db', 'shifts') }}

),

renamed as (

    select
        ---------- ids
        cast(shift_id as bigint) as shift_id,
        cast(driver_id as integer) as driver_id,
        cast(vehicle_id as integer) as vehicle_id,
        cast(base_zone_id as integer) as base_zone_id,

        ---------- booleans
        coalesce(
            deleted_at is not null or _fleet_db_hard_deleted_at is not null, false
        ) as is_deleted,

        ---------- timestamps
        started_at,
        ended_at,
        created_at,
        updated_at,
        deleted_at,
        _fleet_db_hard_deleted_at as hard_deleted_at,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
