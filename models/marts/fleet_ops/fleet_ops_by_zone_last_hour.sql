{{ config(materialized='view') }}
{#-
    Live operations, last hour: per pickup zone, the trips requested in the 60 minutes before
    the query runs. A view, not a table: it is as fresh as the last micro-batch that
    `tripline pipeline run fleet_events --follow` loaded, with no dbt run in between.
-#}
with

trips as (

    select * from {{ ref('int_fleet_trips') }}

),

zones as (

    select * from {{ ref('dim_zones') }}

),

recent as (

    select
        *,
        coalesce(pickup_zone_id, 264) as zone_id
    from trips
    where requested_at >= timezone('UTC', current_timestamp) - interval 1 hour

),

by_zone as (

    select
        zone_id,
        count(*) as trips_requested,
        count(*) filter (where is_completed) as trips_completed,
        count(*) filter (where is_cancelled) as trips_cancelled,
        count(*) filter (where not is_completed and not is_cancelled) as trips_open,
        avg(request_to_pickup_seconds) as avg_request_to_pickup_seconds,
        quantile_cont(request_to_pickup_seconds, 0.9) as p90_request_to_pickup_seconds,
        max(latest_event_at) as latest_event_at
    from recent
    group by zone_id

),

final as (

    select
        cast(by_zone.zone_id as integer) as pickup_zone_id,
        zones.zone_name as pickup_zone_name,
        zones.borough_name as pickup_borough_name,
        cast(by_zone.trips_requested as bigint) as trips_requested,
        cast(by_zone.trips_completed as bigint) as trips_completed,
        cast(by_zone.trips_cancelled as bigint) as trips_cancelled,
        cast(by_zone.trips_open as bigint) as trips_open,
        cast(by_zone.trips_cancelled as double) / by_zone.trips_requested as cancellation_rate,
        cast(by_zone.avg_request_to_pickup_seconds as double)
            as avg_request_to_pickup_seconds,
        cast(by_zone.p90_request_to_pickup_seconds as double)
            as p90_request_to_pickup_seconds,
        by_zone.latest_event_at
    from by_zone
    left join zones
        on by_zone.zone_id = zones.location_id

)

select * from final
