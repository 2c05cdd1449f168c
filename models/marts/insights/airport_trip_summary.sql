{#- How much of the business are airport trips, and what does a typical one cost and take?
    One row per airport (a trip touching two airports counts for its pickup airport). -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    where is_valid

),

totals as (

    select
        count(*) as all_trips,
        sum(total_amount) as all_revenue
    from trips

),

per_airport as (

    select
        airport_code,
        count(*) as trips,
        sum(
            case when {{ airport_code('pickup_location_id') }} = airport_code then 1 else 0 end
        ) as pickups,
        sum(total_amount) as revenue,
        percentile_cont(0.5) within group (order by fare_amount) as median_fare,
        percentile_cont(0.5) within group (order by duration_minutes) as median_duration_minutes,
        percentile_cont(0.5) within group (
            order by trip_distance_miles
        ) as median_distance_miles
    from trips
    where is_airport_trip
    group by airport_code

),

final as (

    select
        per_airport.airport_code,
        cast(per_airport.trips as bigint) as trips,
        cast(per_airport.pickups as bigint) as pickups,
        cast(per_airport.trips - per_airport.pickups as bigint) as dropoffs,
        cast(per_airport.revenue as double) as revenue,
        cast(per_airport.trips as double) / totals.all_trips as share_of_trips,
        per_airport.revenue / totals.all_revenue as share_of_revenue,
        cast(per_airport.median_fare as double) as median_fare,
        cast(per_airport.median_duration_minutes as double) as median_duration_minutes,
        cast(per_airport.median_distance_miles as double) as median_distance_miles
    from per_airport
    cross join totals

)

select * from final
