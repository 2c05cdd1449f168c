{#- Where and when does a cab earn most per mile and per minute, and how fast does traffic
    move? Per pickup borough and pickup hour, over trips valid for both distance/time and
    revenue; earnings are driver revenue (fare + extra + tip). -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow' and {{ valid_for('distance_time') }} and {{ valid_for('revenue') }}

),

aggregated as (

    select
        pickup_borough_name,
        pickup_hour,
        count(*) as trips,
        sum(driver_revenue_amount) as driver_revenue,
        sum(fare_amount) as fare_revenue,
        sum(trip_distance_miles) as miles,
        sum(duration_minutes) as minutes,
        percentile_cont(0.5) within group (order by average_speed_mph) as median_speed_mph,
        percentile_cont(0.25) within group (order by average_speed_mph) as p25_speed_mph,
        percentile_cont(0.75) within group (order by average_speed_mph) as p75_speed_mph
    from trips
    group by pickup_borough_name, pickup_hour

),

final as (

    select
        pickup_borough_name,
        cast(pickup_hour as integer) as pickup_hour,
        cast(trips as bigint) as trips,
        cast(driver_revenue as double) as driver_revenue,
        cast(fare_revenue as double) as fare_revenue,
        cast(miles as double) as miles,
        cast(minutes as double) as minutes,
        cast({{ safe_divide('driver_revenue', 'miles') }} as double) as driver_revenue_per_mile,
        cast(
            {{ safe_divide('driver_revenue', 'minutes') }} as double
        ) as driver_revenue_per_minute,
        cast({{ safe_divide('fare_revenue', 'miles') }} as double) as fare_revenue_per_mile,
        cast({{ safe_divide('miles', 'minutes / 60.0e0') }} as double) as average_speed_mph,
        cast(median_speed_mph as double) as median_speed_mph,
        cast(p25_speed_mph as double) as p25_speed_mph,
        cast(p75_speed_mph as double) as p75_speed_mph
    from aggregated

)

select * from final
