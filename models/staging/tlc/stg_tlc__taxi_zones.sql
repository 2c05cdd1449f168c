with

source as (

    select * from {{ source('tlc', 'taxi_zones') }}

),

renamed as (

    select
        ---------- ids
        cast(location_id as integer) as location_id,

        ---------- strings
        borough as borough_name,
        zone as zone_name,
        service_zone as service_zone_name

    from source

)

select * from renamed
