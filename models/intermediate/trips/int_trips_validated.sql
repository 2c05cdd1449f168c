{#- Every trip with one boolean per validity rule (seed trip_validity_rules) and is_valid.
    Thresholds are project vars so the rules and their documentation share one number. -#}
with

trips as (

    select * from {{ ref('stg_tlc__yellow_trips') }}

),

zones as (

    select * from {{ ref('stg_tlc__taxi_zones') }}

),

known_zones as (

    select location_id
    from zones
    where location_id not in ({{ var('unknown_zone_ids') | join(', ') }})

),

measured as (

    select
        trips.*,
        date_diff('second', trips.pickup_at_local, trips.dropoff_at_local)
        / 60.0 as duration_minutes
    from trips

),

with_speed as (

    select
        measured.*,
        case
            when measured.duration_minutes > 0
                then measured.trip_distance_miles / (measured.duration_minutes / 60.0)
        end as average_speed_mph
    from measured

),

flagged as (

    select
        with_speed.*,
        coalesce(
            least(
                with_speed.fare_amount,
                with_speed.extra_amount,
                with_speed.mta_tax_amount,
                with_speed.tip_amount,
                with_speed.tolls_amount,
                with_speed.improvement_surcharge_amount,
                with_speed.congestion_surcharge_amount,
                with_speed.airport_fee_amount,
                with_speed.cbd_congestion_fee_amount,
                with_speed.total_amount
            ) < 0,
            false
        ) as is_negative_amount,
        coalesce(with_speed.trip_distance_miles = 0, true) as is_zero_distance,
        coalesce(with_speed.duration_minutes <= 0, true) as is_dropoff_before_pickup,
        coalesce(
            date_trunc('month', with_speed.pickup_at_local) != with_speed.source_file_month,
            true
        ) as is_pickup_outside_file_month,
        (
            pickup_zone.location_id is null or dropoff_zone.location_id is null
        ) as is_unknown_zone,
        coalesce(
            with_speed.trip_distance_miles > {{ var('trip_max_distance_miles') }}, false
        ) as is_extreme_distance,
        coalesce(
            with_speed.average_speed_mph > {{ var('trip_max_speed_mph') }}, false
        ) as is_extreme_speed,
        coalesce(
            with_speed.fare_amount > {{ var('trip_max_fare_usd') }}, false
        ) as is_extreme_fare,
        with_speed.passenger_count is null as is_missing_passenger_count
    from with_speed
    left join known_zones as pickup_zone
        on with_speed.pickup_location_id = pickup_zone.location_id
    left join known_zones as dropoff_zone
        on with_speed.dropoff_location_id = dropoff_zone.location_id

),

final as (

    select
        flagged.*,
        not flagged.is_negative_amount
        and not flagged.is_zero_distance
        and not flagged.is_dropoff_before_pickup
        and not flagged.is_pickup_outside_file_month
        and not flagged.is_unknown_zone
        and not flagged.is_extreme_distance
        and not flagged.is_extreme_speed
        and not flagged.is_extreme_fare as is_valid
    from flagged

)

select * from final
