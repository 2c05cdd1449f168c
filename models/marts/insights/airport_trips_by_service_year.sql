{#- Airport trips by service and year: how many trips touch EWR, JFK or LGA (by zone id, a
    trip touching two airports counts for its pickup airport), how many start there, and
    what share of the service's trips that year they are. Trips valid for demand; the
    average fare over trips valid for revenue (fare revenue / revenue trips; null for fhv,
    whose files carry no fare). -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    where {{ valid_for('demand') }}

),

yearly as (

    select
        cast(extract(year from pickup_at_local) as integer) as pickup_year,
        service,
        count(*) as service_trips
    from trips
    group by 1, 2

),

airport as (

    select
        cast(extract(year from pickup_at_local) as integer) as pickup_year,
        service,
        airport_code,
        count(*) as trips,
        sum(
            case when {{ airport_code('pickup_location_id') }} = airport_code then 1 else 0 end
        ) as pickups,
        sum(case when {{ valid_for('revenue') }} then fare_amount end) as fare_revenue,
        sum(
            case when {{ valid_for('revenue') }} and fare_amount is not null then 1 else 0 end
        ) as revenue_trips
    from trips
    where is_airport_trip
    group by 1, 2, 3

),

final as (

    select
        airport.pickup_year,
        airport.service,
        airport.airport_code,
        cast(airport.trips as bigint) as trips,
        cast(airport.pickups as bigint) as pickups,
        cast(airport.trips - airport.pickups as bigint) as dropoffs,
        cast(airport.trips as double) / yearly.service_trips as share_of_service_trips,
        cast(airport.fare_revenue as double) as fare_revenue,
        cast(
            {{ safe_divide('airport.fare_revenue', 'airport.revenue_trips') }} as double
        ) as average_fare
    from airport
    inner join yearly
        on
            airport.pickup_year = yearly.pickup_year
            and airport.service = yearly.service

)

select * from final
