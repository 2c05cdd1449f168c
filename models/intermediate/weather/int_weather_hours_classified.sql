{#- Each observed hour with the categories the insights compare: a weather condition (snow
    wins over rain, rain over dry) and a temperature band; and whether its local hour is the
    second 01:00 of the day clocks go back, which naive local times cannot tell apart. -#}
with

weather_hours as (

    select * from {{ ref('stg_weather__hourly') }}

),

classified as (

    select
        weather_hours.*,
        case
            when
                weather_hours.snowfall_cm > 0
                or weather_hours.weather_code in (71, 73, 75, 77, 85, 86)
                then 'snow'
            when
                weather_hours.precipitation_mm > 0
                or weather_hours.rain_mm > 0
                or weather_hours.weather_code between 51 and 67
                or weather_hours.weather_code between 80 and 82
                or weather_hours.weather_code between 95 and 99
                then 'rain'
            else 'dry'
        end as weather_condition,
        case
            when weather_hours.temperature_c is null then 'unknown'
            when weather_hours.temperature_c < 0 then 'below 0 C'
            when weather_hours.temperature_c < 10 then '0 to 10 C'
            when weather_hours.temperature_c < 20 then '10 to 20 C'
            when weather_hours.temperature_c < 30 then '20 to 30 C'
            else '30 C and above'
        end as temperature_band,
        cast(extract(isodow from weather_hours.observed_at_local) as integer) as day_of_week,
        cast(extract(hour from weather_hours.observed_at_local) as integer) as hour_of_day,
        row_number() over (
            partition by weather_hours.observed_at_local
            order by weather_hours.observed_at
        ) > 1 as is_repeated_local_hour
    from weather_hours

),

final as (

    select
        classified.*,
        (classified.day_of_week - 1) * 24 + classified.hour_of_day as hour_of_week
    from classified

)

select * from final
