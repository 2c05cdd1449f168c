with

source as (

    select * from {{ source('weather', 'hourly') }}

),

renamed as (

    select
        ---------- strings
        timezone as timezone_name,

        ---------- numerics
        cast(temperature_2m as double) as temperature_c,
        cast(precipitation as double) as precipitation_mm,
        cast(rain as double) as rain_mm,
        cast(snowfall as double) as snowfall_cm,
        cast(wind_speed_10m as double) as wind_speed_kmh,
        cast(weather_code as integer) as weather_code,
        cast(utc_offset_seconds as integer) as utc_offset_seconds,
        cast(latitude as double) as latitude,
        cast(longitude as double) as longitude,

        ---------- timestamps
        cast(time as timestamp) as observed_at_local,
        cast(time_utc as timestamp with time zone) as observed_at,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
