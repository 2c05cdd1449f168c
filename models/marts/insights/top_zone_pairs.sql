{#- Which origin-destination zone pairs carry the most trips and revenue? The pairs in the
    top var top_zone_pairs_limit by trips or by revenue, valid trips only. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    where is_valid

),

zones as (

    select * from {{ ref('dim_zones') }}

),

pairs as (

    select
        pickup_location_id,
        dropoff_location_id,
        count(*) as trips,
        sum(total_amount) as revenue
    from trips
    group by pickup_location_id, dropoff_location_id

),

ranked as (

    select
        pairs.*,
        rank() over (order by pairs.trips desc) as rank_by_trips,
        rank() over (order by pairs.revenue desc) as rank_by_revenue
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
        cast(ranked.trips as bigint) as trips,
        cast(ranked.revenue as double) as revenue,
        cast(ranked.revenue / ranked.trips as double) as revenue_per_trip,
        cast(ranked.rank_by_trips as bigint) as rank_by_trips,
        cast(ranked.rank_by_revenue as bigint) as rank_by_revenue
    from ranked
    inner join zones as pickup_zone
        on ranked.pickup_location_id = pickup_zone.location_id
    inner join zones as dropoff_zone
        on ranked.dropoff_location_id = dropoff_zone.location_id
    where
        ranked.rank_by_trips <= {{ var('top_zone_pairs_limit') }}
        or ranked.rank_by_revenue <= {{ var('top_zone_pairs_limit') }}

)

select * from final
