with

source as (

    select * from {{ source('open_data', 'fhv_vehicles') }}

),

renamed as (

    select
        ---------- ids
        cast(vehicle_license_number as varchar) as vehicle_license_id,
        cast(base_number as varchar) as base_id,
        cast(_id as varchar) as socrata_row_id,

        ---------- strings
        name as license_holder_name,
        license_type,
        permit_license_number,
        dmv_license_plate_number as license_plate_number,
        vehicle_vin_number as vin,
        base_name,
        base_type,
        veh as vehicle_program_code,
        base_telephone_number,
        base_address,

        ---------- numerics
        try_cast(vehicle_year as integer) as vehicle_model_year,

        ---------- booleans
        -- a vehicle gone from "FHV - Active" (stamped by the key reconciliation) is not active
        coalesce(upper(active) = 'YES', false) and _removed_at is null as is_active,
        _removed_at is not null as is_removed,
        coalesce(upper(wheelchair_accessible) = 'WAV', false) as is_wheelchair_accessible,

        ---------- dates and timestamps
        cast(expiration_date as date) as license_expiration_date,
        cast(last_date_updated as date) as tlc_updated_date,
        cast(_created_at as timestamp with time zone) as socrata_created_at,
        cast(_updated_at as timestamp with time zone) as socrata_updated_at,
        cast(_removed_at as timestamp with time zone) as removed_at,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
