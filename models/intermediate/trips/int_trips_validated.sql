{#- Every trip with its duration and speed, the refund that reverses it (or the charge it
    reverses), one boolean per validity rule and one per scope. The rules come from the seed
    trip_validity_rules (macros/trip_validity_rules.sql): its conditions read the columns of
    the matched CTE below. -#}
-- depends_on: {{ ref('trip_validity_rules') }}
with

trips as (

    select * from {{ ref('int_trips_unioned') }}

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
        {{ dbt.datediff('trips.pickup_at_local', 'trips.dropoff_at_local', 'second') }}
        / 60.0e0 as duration_minutes,
        pickup_zone.location_id is not null as has_known_pickup_zone,
        dropoff_zone.location_id is not null as has_known_dropoff_zone
    from trips
    left join known_zones as pickup_zone
        on trips.pickup_location_id = pickup_zone.location_id
    left join known_zones as dropoff_zone
        on trips.dropoff_location_id = dropoff_zone.location_id

),

-- Read three times below (refunds, charges, matched): inlined (cte_inlined), so DuckDB does not
-- write every trip to a temporary result and read it back (on 6.25 M trips that spilled
-- 611 MB and took two thirds of fct_trips' build, bench/results/dbt.md).
with_speed as {{ cte_inlined() }} (

    select
        measured.*,
        case
            when measured.duration_minutes > 0
                then measured.trip_distance_miles / (measured.duration_minutes / 60.0e0)
        end as average_speed_mph
    from measured

),

-- A refund reverses a charge of the same file: same vendor, times and zones, the opposite
-- fare and total. The k-th refund of a key pairs with the k-th charge of that key.
refunds as (

    select
        trip_id,
        source_file,
        vendor_id,
        pickup_at_local,
        dropoff_at_local,
        pickup_location_id,
        dropoff_location_id,
        -fare_amount as charged_fare_amount,
        -total_amount as charged_total_amount,
        row_number() over (
            partition by
                source_file, vendor_id, pickup_at_local, dropoff_at_local,
                pickup_location_id, dropoff_location_id, fare_amount, total_amount
            order by trip_id
        ) as pair_rank
    from with_speed
    where total_amount < 0

),

charges as (

    select
        charge.trip_id,
        charge.source_file,
        charge.vendor_id,
        charge.pickup_at_local,
        charge.dropoff_at_local,
        charge.pickup_location_id,
        charge.dropoff_location_id,
        charge.fare_amount,
        charge.total_amount,
        row_number() over (
            partition by
                charge.source_file, charge.vendor_id, charge.pickup_at_local,
                charge.dropoff_at_local, charge.pickup_location_id,
                charge.dropoff_location_id, charge.fare_amount, charge.total_amount
            order by charge.trip_id
        ) as pair_rank
    from with_speed as charge
    where
        charge.total_amount > 0
        and exists (
            select 1 as has_refund
            from refunds
            where
                refunds.source_file = charge.source_file
                and refunds.vendor_id = charge.vendor_id
                and refunds.pickup_at_local = charge.pickup_at_local
                and refunds.dropoff_at_local = charge.dropoff_at_local
                and refunds.pickup_location_id = charge.pickup_location_id
                and refunds.dropoff_location_id = charge.dropoff_location_id
                and refunds.charged_total_amount = charge.total_amount
        )

),

pairs as (

    select
        charges.trip_id as charge_trip_id,
        refunds.trip_id as refund_trip_id
    from refunds
    inner join charges
        on
            refunds.source_file = charges.source_file
            and refunds.vendor_id = charges.vendor_id
            and refunds.pickup_at_local = charges.pickup_at_local
            and refunds.dropoff_at_local = charges.dropoff_at_local
            and refunds.pickup_location_id = charges.pickup_location_id
            and refunds.dropoff_location_id = charges.dropoff_location_id
            and refunds.charged_fare_amount = charges.fare_amount
            and refunds.charged_total_amount = charges.total_amount
            and refunds.pair_rank = charges.pair_rank

),

matched as (

    select
        with_speed.*,
        reversed.refund_trip_id as refunded_by_trip_id,
        reversing.charge_trip_id as reverses_trip_id
    from with_speed
    left join pairs as reversed
        on with_speed.trip_id = reversed.charge_trip_id
    left join pairs as reversing
        on with_speed.trip_id = reversing.refund_trip_id

),

flagged as (

    select
        *,
        {{ trip_rule_flags() }}
    from matched

),

final as (

    select
        *,
        {{ trip_scope_flags() }}
    from flagged

)

select * from final
