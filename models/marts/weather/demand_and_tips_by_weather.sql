{#- Does the weather change how many people take a cab, and how much they tip? Per weather
    condition and per temperature band: trips per hour against the same hour-of-week baseline
    (so a rainy Monday 08:00 is compared with a typical Monday 08:00, not with 03:00), and the
    card tip rate against the tip rate those same hours of the week have on average. -#}
with

hours as (

    select * from {{ ref('int_weather_hours_with_demand') }}

),

by_condition as (

    select
        'weather_condition' as segment_type,
        weather_condition as segment_value,
        count(*) as hours,
        sum(trips) as trips,
        sum(baseline_trips) as baseline_trips,
        sum(card_trips) as card_trips,
        sum(card_tip_amount) as card_tip_amount,
        sum(card_fare_amount) as card_fare_amount,
        sum(baseline_card_tip_rate * card_fare_amount) as expected_card_tip_amount
    from hours
    group by weather_condition

),

by_temperature as (

    select
        'temperature_band' as segment_type,
        temperature_band as segment_value,
        count(*) as hours,
        sum(trips) as trips,
        sum(baseline_trips) as baseline_trips,
        sum(card_trips) as card_trips,
        sum(card_tip_amount) as card_tip_amount,
        sum(card_fare_amount) as card_fare_amount,
        sum(baseline_card_tip_rate * card_fare_amount) as expected_card_tip_amount
    from hours
    group by temperature_band

),

segments as (

    select * from by_condition
    union all
    select * from by_temperature

),

final as (

    select
        cast(segment_type as varchar) as segment_type,
        cast(segment_value as varchar) as segment_value,
        cast(hours as bigint) as hours,
        cast(trips as bigint) as trips,
        cast({{ safe_divide('trips', 'hours') }} as double) as trips_per_hour,
        cast({{ safe_divide('baseline_trips', 'hours') }} as double)
            as baseline_trips_per_hour,
        cast({{ safe_divide('trips', 'baseline_trips') }} - 1 as double)
            as demand_vs_baseline,
        cast(card_trips as bigint) as card_trips,
        cast({{ safe_divide('card_tip_amount', 'card_fare_amount') }} as double)
            as card_tip_rate,
        cast({{ safe_divide('expected_card_tip_amount', 'card_fare_amount') }} as double)
            as baseline_card_tip_rate,
        cast(
            {{ safe_divide('card_tip_amount - expected_card_tip_amount', 'card_fare_amount') }}
            as double
        ) as card_tip_rate_vs_baseline
    from segments

)

select * from final
