with

source as (

    select * from {{ source('tlc', 'taxi_zones') }}

),

renamed as (

    select
        ---------- ids
        {{ to_integer('location_id') }} as location_id,

        ---------- strings
        borough as borough_name,
        zone as zone_name,
        service_zone as service_zone_name

    from source

)

select * from renamed
