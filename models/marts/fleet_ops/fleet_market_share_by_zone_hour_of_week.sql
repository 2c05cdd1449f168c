{#-
    The fleet's share of the city's market per pickup zone and hour of the week (New York
    local time, hour 0 = Monday 00:00, as in `fct_trips`). The two sides cover different
    periods (TLC files vs the live stream), so each is turned into trips per week first:
    trips / the number of distinct weeks that side covers. Share = fleet / (fleet + city).
    The city side is the yellow trips valid for demand (macro valid_for).
-#}
with

fleet_trips as (

    select * from {{ ref('int_fleet_trips') }}
    where is_completed

),

city_trips as (

    select * from {{ ref('fct_trips') }}
    -- The city's demand, as every demand mart counts it: yellow cabs, the fleet's market,
    -- and every real pickup (a zero-distance or clock-error trip is one; is_valid would drop
    -- it, biasing the share towards the fleet in the zones and hours where meters err).
    where service = 'yellow' and {{ valid_for('demand') }}

),

zones as (

    select * from {{ ref('dim_zones') }}

),

fleet_local as (

    select
        coalesce(pickup_zone_id, 264) as zone_id,
        timezone('America/New_York', timezone('UTC', picked_up_at)) as picked_up_at_local
    from fleet_trips

),

fleet_hours as (

    select
        zone_id,
        cast(
            (isodow(picked_up_at_local) - 1) * 24 + hour(picked_up_at_local) as integer
        ) as hour_of_week
    from fleet_local
    where picked_up_at_local is not null

),

fleet_counted as (

    select
        zone_id,
        hour_of_week,
        count(*) as trips
    from fleet_hours
    group by zone_id, hour_of_week

),

fleet_weeks as (

    select count(distinct date_trunc('week', picked_up_at_local)) as weeks
    from fleet_local

),

city_weeks as (

    select count(distinct date_trunc('week', pickup_at_local)) as weeks
    from city_trips

),

city_weekly as (

    select
        pickup_location_id as zone_id,
        cast(pickup_hour_of_week as integer) as hour_of_week,
        count(*) as trips
    from city_trips
    group by pickup_location_id, pickup_hour_of_week

),

joined as (

    select
        coalesce(fleet_counted.zone_id, city_weekly.zone_id) as zone_id,
        coalesce(fleet_counted.hour_of_week, city_weekly.hour_of_week) as hour_of_week,
        coalesce(fleet_counted.trips, 0) as fleet_trips,
        coalesce(city_weekly.trips, 0) as city_trips
    from fleet_counted
    full outer join city_weekly
        on
            fleet_counted.zone_id = city_weekly.zone_id
            and fleet_counted.hour_of_week = city_weekly.hour_of_week

),

final as (

    select
        cast(joined.zone_id as integer) as pickup_zone_id,
        zones.zone_name as pickup_zone_name,
        zones.borough_name as pickup_borough_name,
        cast(joined.hour_of_week as integer) as hour_of_week,
        cast(joined.hour_of_week // 24 + 1 as integer) as iso_day_of_week,
        cast(joined.hour_of_week % 24 as integer) as hour_of_day,
        cast(joined.fleet_trips as bigint) as fleet_trips,
        cast(joined.city_trips as bigint) as city_trips,
        cast(joined.fleet_trips as double) / greatest(fleet_weeks.weeks, 1)
            as fleet_trips_per_week,
        cast(joined.city_trips as double) / greatest(city_weeks.weeks, 1)
            as city_trips_per_week,
        {{ safe_divide(
            'cast(joined.fleet_trips as double) / greatest(fleet_weeks.weeks, 1)',
            'cast(joined.fleet_trips as double) / greatest(fleet_weeks.weeks, 1)
            + cast(joined.city_trips as double) / greatest(city_weeks.weeks, 1)'
        ) }} as fleet_market_share
    from joined
    cross join fleet_weeks
    cross join city_weeks
    left join zones
        on joined.zone_id = zones.location_id

)

select * from final
