{#- Each service's share of the trips picked up in each borough and year: where did the
    app-based companies overtake the yellow cabs first? Trips valid for demand, by pickup
    borough (Unknown where the zone is unknown or missing, as for most FHV trips). -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    where {{ valid_for('demand') }}

),

services as (

    select * from {{ ref('tlc_services') }}

),

dated as (

    select
        pickup_borough_name,
        service,
        cast(extract(year from pickup_at_local) as integer) as pickup_year
    from trips

),

counted as (

    select
        pickup_year,
        pickup_borough_name,
        service,
        count(*) as trips
    from dated
    group by pickup_year, pickup_borough_name, service

),

borough_totals as (

    select
        pickup_year,
        pickup_borough_name,
        sum(trips) as borough_trips
    from counted
    group by pickup_year, pickup_borough_name

),

final as (

    select
        counted.pickup_year,
        counted.pickup_borough_name,
        counted.service,
        services.service_group,
        cast(counted.trips as bigint) as trips,
        cast(counted.trips as double) / borough_totals.borough_trips as share_of_borough_trips
    from counted
    inner join borough_totals
        on
            counted.pickup_year = borough_totals.pickup_year
            and counted.pickup_borough_name = borough_totals.pickup_borough_name
    left join services
        on counted.service = services.service

)

select * from final
