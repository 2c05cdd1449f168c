{#- Every enriched trip with the weather of its pickup hour. Both clocks are New York local
    time (weather is requested with timezone=America/New_York), so the join is on the hour. -#}
with

trips as (

    select * from {{ ref('int_trips_enriched') }}

),

weather_hours as (

    select * from {{ ref('int_weather_hours_classified') }}

),

final as (

    select
        trips.trip_id,
        trips.payment_type_id,
        trips.source_file_month,
        trips.pickup_at_local,
        date_trunc('hour', trips.pickup_at_local) as pickup_hour_at_local,
        trips.pickup_hour_of_week,
        trips.is_valid,
        trips.fare_amount,
        trips.tip_amount,
        trips.total_amount,
        trips.tip_rate,
        weather_hours.weather_condition,
        weather_hours.temperature_band,
        weather_hours.temperature_c,
        weather_hours.precipitation_mm,
        weather_hours.snowfall_cm,
        weather_hours.observed_at_local is not null as has_weather
    from trips
    left join weather_hours
        on date_trunc('hour', trips.pickup_at_local) = weather_hours.observed_at_local

)

select * from final
