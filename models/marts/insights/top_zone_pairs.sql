{#- Which origin-destination zone pairs carry the most trips and the most fare revenue? The
    pairs in the top var top_zone_pairs_limit by either; trips count demand, fare revenue counts
    revenue trips; both need zones that can be placed. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow' and {{ valid_for('zones') }}

),

zones as (

    select * from {{ ref('dim_zones') }}

),

pairs as (

    select
        pickup_location_id,
        dropoff_location_id,
        count(*) filter (where {{ valid_for('demand') }}) as trips,
        count(*) filter (where {{ valid_for('revenue') }}) as revenue_trips,
        coalesce(sum(fare_amount) filter (where {{ valid_for('revenue') }}), 0) as fare_revenue,
        coalesce(
            sum(driver_revenue_amount) filter (where {{ valid_for('revenue') }}), 0
        ) as driver_revenue
    from trips
    group by pickup_location_id, dropoff_location_id

),

ranked as (

    select
        pairs.*,
        rank() over (order by pairs.trips desc) as rank_by_trips,
        -- Ranked on the cent: a float sum's last bits depend on the order rows are added in,
        -- which differs between engines and runs; equal revenues tie.
        rank() over (order by round(pairs.fare_revenue, 2) desc) as rank_by_fare_revenue
    from pairs

),

final as (

    select
        cast(ranked.pickup_location_id as integer) as pickup_location_id,
        cast(ranked.dropoff_location_id as integer) as dropoff_location_id,
        pickup_zone.zone_name as pickup_zone_name,
        pickup_zone.borough_name as pickup_borough_name,
        dropoff_zone.zone_name as dropoff_zone_name,
        dropoff_zone.borough_name as dropoff_borough_name,
        pickup_zone.is_airport or dropoff_zone.is_airport as is_airport_pair,
        cast(ranked.trips as bigint) as trips,
        cast(ranked.revenue_trips as bigint) as revenue_trips,
        cast(ranked.fare_revenue as double) as fare_revenue,
        cast(ranked.driver_revenue as double) as driver_revenue,
        cast(
            {{ safe_divide('ranked.fare_revenue', 'ranked.revenue_trips') }} as double
        ) as fare_revenue_per_trip,
        cast(ranked.rank_by_trips as bigint) as rank_by_trips,
        cast(ranked.rank_by_fare_revenue as bigint) as rank_by_fare_revenue
    from ranked
    inner join zones as pickup_zone
        on ranked.pickup_location_id = pickup_zone.location_id
    inner join zones as dropoff_zone
        on ranked.dropoff_location_id = dropoff_zone.location_id
    where
        ranked.rank_by_trips <= {{ var('top_zone_pairs_limit') }}
        or ranked.rank_by_fare_revenue <= {{ var('top_zone_pairs_limit') }}

)

select * from final
