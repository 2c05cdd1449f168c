{#- Where do trips start and end? Per TLC zone: pickups and dropoffs (demand), the share of
    all pickups, fare revenue of the trips picked up there and the median pickup fare; the
    report's zone map draws it on the TLC's polygons. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow' and {{ valid_for('demand') }}

),

zones as (

    select * from {{ ref('dim_zones') }}

),

pickups as (

    select
        pickup_location_id as location_id,
        count(*) as pickups,
        coalesce(sum(fare_amount) filter (where {{ valid_for('revenue') }}), 0) as fare_revenue,
        percentile_cont(0.5) within group (
            order by case when {{ valid_for('revenue') }} then fare_amount end
        ) as median_fare
    from trips
    group by pickup_location_id

),

dropoffs as (

    select
        dropoff_location_id as location_id,
        count(*) as dropoffs
    from trips
    group by dropoff_location_id

),

final as (

    select
        zones.location_id,
        zones.zone_name,
        zones.borough_name,
        cast(coalesce(pickups.pickups, 0) as bigint) as pickups,
        cast(coalesce(dropoffs.dropoffs, 0) as bigint) as dropoffs,
        cast(coalesce(pickups.pickups, 0) as double)
        / sum(coalesce(pickups.pickups, 0)) over () as share_of_pickups,
        cast(coalesce(pickups.fare_revenue, 0) as double) as pickup_fare_revenue,
        cast(pickups.median_fare as double) as median_pickup_fare
    from zones
    left join pickups
        on zones.location_id = pickups.location_id
    left join dropoffs
        on zones.location_id = dropoffs.location_id

)

select * from final
