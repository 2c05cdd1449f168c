{#- How much of the business are airport trips, and what does a typical one cost and take?
    One row per airport (a trip touching two airports counts for its pickup airport): trips
    (demand), fare revenue and the middle of the fare, duration and distance distributions. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow' and {{ valid_for('demand') }}

),

totals as (

    select
        count(*) as all_trips,
        sum(fare_amount) filter (where {{ valid_for('revenue') }}) as all_fare_revenue
    from trips

),

per_airport as (

    select
        airport_code,
        count(*) as trips,
        sum(
            case when {{ airport_code('pickup_location_id') }} = airport_code then 1 else 0 end
        ) as pickups,
        coalesce(sum(fare_amount) filter (where {{ valid_for('revenue') }}), 0) as fare_revenue,
        -- Ordered-set aggregates skip nulls: the case keeps only trips valid for the measure.
        percentile_cont(0.5) within group (
            order by case when {{ valid_for('revenue') }} then fare_amount end
        ) as median_fare,
        percentile_cont(0.5) within group (
            order by case when {{ valid_for('distance_time') }} then duration_minutes end
        ) as median_duration_minutes,
        percentile_cont(0.9) within group (
            order by case when {{ valid_for('distance_time') }} then duration_minutes end
        ) as p90_duration_minutes,
        percentile_cont(0.5) within group (
            order by case when {{ valid_for('distance_time') }} then trip_distance_miles end
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
        cast(per_airport.fare_revenue as double) as fare_revenue,
        cast(per_airport.trips as double) / totals.all_trips as share_of_trips,
        cast(
            {{ safe_divide('per_airport.fare_revenue', 'totals.all_fare_revenue') }} as double
        ) as share_of_fare_revenue,
        cast(per_airport.median_fare as double) as median_fare,
        cast(per_airport.median_duration_minutes as double) as median_duration_minutes,
        cast(per_airport.p90_duration_minutes as double) as p90_duration_minutes,
        cast(per_airport.median_distance_miles as double) as median_distance_miles
    from per_airport
    cross join totals

)

select * from final
