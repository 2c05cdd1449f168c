with

source as (

    select * from {{ source('fleet_db', 'vehicles') }}

),

renamed as (

    select
        ---------- ids
        cast(vehicle_id as integer) as vehicle_id,

        ---------- strings
        plate as license_plate,
        make,
        model,
        fuel_type,
        json_extract_string(equipment, '$.card_reader') as card_reader_vendor,
        cast(equipment as varchar) as equipment_json,

        ---------- numerics
        cast(year as integer) as model_year,
        cast(json_extract(equipment, '$.seats') as integer) as seats,

        ---------- booleans
        is_wheelchair_accessible,
        coalesce(cast(json_extract(equipment, '$.partition') as boolean), false) as has_partition,
        coalesce(cast(json_extract(equipment, '$.camera') as boolean), false) as has_camera,
        coalesce(cast(json_extract(equipment, '$.dashcam') as boolean), false) as has_dashcam,
        coalesce(
            deleted_at is not null or _fleet_db_hard_deleted_at is not null, false
        ) as is_deleted,

        ---------- timestamps
        created_at,
        updated_at,
        deleted_at,
        _fleet_db_hard_deleted_at as hard_deleted_at,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
