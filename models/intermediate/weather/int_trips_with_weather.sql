{#- Every enriched trip with the weather of its pickup hour. Both clocks are New York local
    time (weather is requested with timezone=America/New_York), so the join is on the hour.
    A naive pickup in the 01:00 that repeats when daylight saving time ends may be in either
    of its two hours: it gets the first (EDT), so no trip is counted twice. -#}
with

trips as (

    select * from {{ ref('int_trips_enriched') }}
    -- Yellow taxis: the weather marts measure the TPEP meter's tips and fares.
    where service = 'yellow'

),

weather_hours as (

    select * from {{ ref('int_weather_hours_classified') }}

),

weather_local_hours as (

    select * from weather_hours
    where not is_repeated_local_hour

),

final as (

    select
        trips.trip_id,
        trips.payment_type_id,
        trips.source_file_month,
        trips.pickup_at_local,
        date_trunc('hour', trips.pickup_at_local) as pickup_hour_at_local,
        trips.pickup_hour_of_week,
        trips.is_valid_for_demand,
        trips.is_valid_for_tips,
        trips.fare_amount,
        trips.tip_amount,
        trips.total_amount,
        trips.tip_rate,
        weather_local_hours.weather_condition,
        weather_local_hours.temperature_band,
        weather_local_hours.temperature_c,
        weather_local_hours.precipitation_mm,
        weather_local_hours.snowfall_cm,
        weather_local_hours.observed_at_local is not null as has_weather
    from trips
    left join weather_local_hours
        on date_trunc('hour', trips.pickup_at_local) = weather_local_hours.observed_at_local

)

select * from final
