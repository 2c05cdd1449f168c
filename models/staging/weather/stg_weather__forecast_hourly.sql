with

source as (

    select * from {{ source('weather', 'forecast_hourly') }}

),

renamed as (

    select
        ---------- numerics
        cast(temperature_2m as double) as temperature_c,
        cast(precipitation as double) as precipitation_mm,
        cast(rain as double) as rain_mm,
        cast(snowfall as double) as snowfall_cm,
        cast(wind_speed_10m as double) as wind_speed_kmh,
        cast(weather_code as integer) as weather_code,

        ---------- timestamps
        cast(time as timestamp) as forecast_for_at_local,
        cast(time_utc as timestamp with time zone) as forecast_for_at,
        to_timestamp(cast(_dlt_load_id as double)) as forecast_made_at

    from source

)

select * from renamed
