{#- Where and when does a cab earn most per mile and per minute, and how fast does traffic
    move? Valid trips per pickup borough and pickup hour. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    where is_valid

),

aggregated as (

    select
        pickup_borough_name,
        pickup_hour,
        count(*) as trips,
        sum(total_amount) as revenue,
        sum(trip_distance_miles) as miles,
        sum(duration_minutes) as minutes
    from trips
    group by pickup_borough_name, pickup_hour

),

final as (

    select
        pickup_borough_name,
        cast(pickup_hour as integer) as pickup_hour,
        cast(trips as bigint) as trips,
        cast(revenue as double) as revenue,
        cast({{ safe_divide('revenue', 'miles') }} as double) as revenue_per_mile,
        cast({{ safe_divide('revenue', 'minutes') }} as double) as revenue_per_minute,
        cast({{ safe_divide('miles', 'minutes / 60.0') }} as double) as average_speed_mph
    from aggregated

)

select * from final
