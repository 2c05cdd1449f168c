{#-
    Live operations per day: per pickup zone and New York calendar day of the request,
    trips, completions, cancellations, request-to-pickup time and revenue.
-#}
with

trips as (

    select * from {{ ref('int_fleet_trips') }}

),

zones as (

    select * from {{ ref('dim_zones') }}

),

dated as (

    select
        *,
        coalesce(pickup_zone_id, 264) as zone_id,
        cast(
            timezone('America/New_York', timezone('UTC', requested_at)) as date
        ) as service_date
    from trips

),

by_zone_day as (

    select
        service_date,
        zone_id,
        count(*) as trips_requested,
        count(*) filter (where is_completed) as trips_completed,
        count(*) filter (where is_cancelled) as trips_cancelled,
        avg(request_to_pickup_seconds) as avg_request_to_pickup_seconds,
        quantile_cont(request_to_pickup_seconds, 0.5) as median_request_to_pickup_seconds,
        sum(fare_total_amount) filter (where is_completed) as revenue_usd
    from dated
    group by service_date, zone_id

),

final as (

    select
        by_zone_day.service_date,
        cast(by_zone_day.zone_id as integer) as pickup_zone_id,
        zones.zone_name as pickup_zone_name,
        zones.borough_name as pickup_borough_name,
        cast(by_zone_day.trips_requested as bigint) as trips_requested,
        cast(by_zone_day.trips_completed as bigint) as trips_completed,
        cast(by_zone_day.trips_cancelled as bigint) as trips_cancelled,
        cast(by_zone_day.trips_cancelled as double)
        / by_zone_day.trips_requested as cancellation_rate,
        cast(by_zone_day.avg_request_to_pickup_seconds as double)
            as avg_request_to_pickup_seconds,
        cast(by_zone_day.median_request_to_pickup_seconds as double)
            as median_request_to_pickup_seconds,
        cast(coalesce(by_zone_day.revenue_usd, 0) as double) as revenue_usd
    from by_zone_day
    left join zones
        on by_zone_day.zone_id = zones.location_id

)

select * from final
