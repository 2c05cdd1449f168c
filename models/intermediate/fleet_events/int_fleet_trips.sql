{#-
    Trip events folded into one row per trip. Events arrive out of order and late, so
    everything is decided by event time, never by arrival: each lifecycle time is the event's
    own time, ids come from the latest event that carries them, and the trip's state is the
    step of its latest event (on a tie, the later lifecycle step wins). A request that has
    not arrived yet leaves the trip's first event time as its request time, flagged.
-#}
with

events as (

    select * from {{ ref('stg_fleet__trip_events') }}

),

ranked as (

    select
        events.*,
        row_number() over (
            partition by events.trip_id
            order by
                events.event_at desc,
                case events.event_type
                    when 'trip_requested' then 1
                    when 'driver_assigned' then 2
                    when 'trip_started' then 3
                    else 4
                end desc
        ) as recency_rank
    from events

),

latest as (

    select
        trip_id,
        event_type as latest_event_type,
        event_at as latest_event_at
    from ranked
    where recency_rank = 1

),

assignments as (

    select
        trip_id,
        driver_id,
        vehicle_id,
        row_number() over (partition by trip_id order by event_at desc) as assignment_rank
    from events
    where driver_id is not null

),

folded as (

    select
        trip_id,
        min(event_at) filter (where event_type = 'trip_requested') as requested_at,
        min(event_at) filter (where event_type = 'driver_assigned') as assigned_at,
        min(event_at) filter (where event_type = 'trip_started') as picked_up_at,
        min(event_at) filter (where event_type = 'trip_completed') as completed_at,
        min(event_at) filter (where event_type = 'trip_cancelled') as cancelled_at,
        max(pickup_zone_id) filter (where event_type = 'trip_requested') as requested_zone_id,
        max(pickup_zone_id) filter (where event_type = 'trip_started') as started_zone_id,
        max(dropoff_zone_id) as dropoff_zone_id,
        max(distance_miles) as distance_miles,
        max(fare_base_amount) as fare_base_amount,
        max(fare_tip_amount) as fare_tip_amount,
        max(fare_tolls_amount) as fare_tolls_amount,
        max(fare_total_amount) as fare_total_amount,
        max(cancelled_by) as cancelled_by,
        max(cancel_reason) as cancel_reason,
        count(*) as events,
        min(event_at) as first_event_at,
        max(produced_at) as last_produced_at
    from events
    group by trip_id

),

final as (

    select
        folded.trip_id,
        assignments.driver_id,
        assignments.vehicle_id,
        coalesce(folded.requested_zone_id, folded.started_zone_id) as pickup_zone_id,
        folded.dropoff_zone_id,
        case latest.latest_event_type
            when 'trip_cancelled' then 'cancelled'
            when 'trip_completed' then 'completed'
            when 'trip_started' then 'on_trip'
            when 'driver_assigned' then 'driver_assigned'
            else 'requested'
        end as trip_status,
        latest.latest_event_type,
        folded.cancelled_by,
        folded.cancel_reason,
        folded.distance_miles,
        folded.fare_base_amount,
        folded.fare_tip_amount,
        folded.fare_tolls_amount,
        folded.fare_total_amount,
        cast(folded.events as integer) as events,
        date_diff('second', folded.requested_at, folded.picked_up_at) as request_to_pickup_seconds,
        latest.latest_event_type = 'trip_completed' as is_completed,
        latest.latest_event_type = 'trip_cancelled' as is_cancelled,
        folded.requested_at is null as is_missing_request,
        coalesce(folded.requested_at, folded.first_event_at) as requested_at,
        folded.assigned_at,
        folded.picked_up_at,
        folded.completed_at,
        folded.cancelled_at,
        latest.latest_event_at,
        folded.last_produced_at
    from folded
    inner join latest
        on folded.trip_id = latest.trip_id
    left join assignments
        on
            folded.trip_id = assignments.trip_id
            and assignments.assignment_rank = 1

)

select * from final
