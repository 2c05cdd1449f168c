with

source as (

    select * from {{ source('fleet_db', 'drivers') }}

),

renamed as (

    select
        ---------- ids
        cast(driver_id as integer) as driver_id,

        ---------- strings
        name as driver_name,
        license_number,
        status as driver_status,

        ---------- numerics
        rating,

        ---------- booleans
        coalesce(
            deleted_at is not null or _fleet_db_hard_deleted_at is not null, false
        ) as is_deleted,

        ---------- timestamps
        hired_at,
        created_at,
        updated_at,
        deleted_at,
        _fleet_db_hard_deleted_at as hard_deleted_at,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
