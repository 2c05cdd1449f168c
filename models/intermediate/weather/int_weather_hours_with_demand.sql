{#- One row per local hour inside the months the trips cover: trips (valid for demand) and card
    tips (of trips valid for tips)
    that hour, and the baseline of the same hour of the week (its average over the period),
    so any hour can be compared with a typical hour of the same kind. Hours without a trip
    count as zero demand. Trips carry naive local times, so the repeated 01:00 of the day
    clocks go back is one local hour here, with the weather of its first occurrence. -#}
with

weather_hours as (

    select * from {{ ref('int_weather_hours_classified') }}

),

trips as (

    select * from {{ ref('int_trips_with_weather') }}
    where {{ valid_for('demand') }}

),

trip_months as (

    select distinct source_file_month from trips

),

covered_hours as (

    select weather_hours.*
    from weather_hours
    inner join trip_months
        on date_trunc('month', weather_hours.observed_at_local) = trip_months.source_file_month
    where not weather_hours.is_repeated_local_hour

),

hourly_trips as (

    select
        pickup_hour_at_local,
        count(*) as trips,
        count(*) filter (where payment_type_id = 1 and {{ valid_for('tips') }}) as card_trips,
        coalesce(
            sum(tip_amount) filter (where payment_type_id = 1 and {{ valid_for('tips') }}), 0
        ) as card_tip_amount,
        coalesce(
            sum(fare_amount) filter (where payment_type_id = 1 and {{ valid_for('tips') }}), 0
        ) as card_fare_amount
    from trips
    group by pickup_hour_at_local

),

hours_with_trips as (

    select
        covered_hours.observed_at_local,
        covered_hours.hour_of_week,
        covered_hours.weather_condition,
        covered_hours.temperature_band,
        covered_hours.temperature_c,
        covered_hours.precipitation_mm,
        covered_hours.snowfall_cm,
        coalesce(hourly_trips.trips, 0) as trips,
        coalesce(hourly_trips.card_trips, 0) as card_trips,
        coalesce(hourly_trips.card_tip_amount, 0) as card_tip_amount,
        coalesce(hourly_trips.card_fare_amount, 0) as card_fare_amount
    from covered_hours
    left join hourly_trips
        on covered_hours.observed_at_local = hourly_trips.pickup_hour_at_local

),

baselines as (

    select
        hour_of_week,
        avg(trips) as baseline_trips,
        {{ safe_divide('sum(card_tip_amount)', 'sum(card_fare_amount)') }}
            as baseline_card_tip_rate
    from hours_with_trips
    group by hour_of_week

),

final as (

    select
        hours_with_trips.*,
        baselines.baseline_trips,
        baselines.baseline_card_tip_rate
    from hours_with_trips
    inner join baselines
        on hours_with_trips.hour_of_week = baselines.hour_of_week

)

select * from final
