{#- Validated trips plus what the insights group by - time of week, boroughs, airport, tip
    rate and distance band - and the money measures of each trip as the TLC defines its
    columns (docs: fare_revenue, driver_revenue, total_paid, pass_through_charges). Timestamps
    are New York local time, so hours are local hours. -#}
with

trips as (

    select * from {{ ref('int_trips_validated') }}

),

zones as (

    select * from {{ ref('stg_tlc__taxi_zones') }}

),

timed as (

    select
        trips.*,
        cast(trips.pickup_at_local as date) as pickup_date,
        {{ isodow('trips.pickup_at_local') }} as pickup_day_of_week,
        cast(extract(hour from trips.pickup_at_local) as integer) as pickup_hour
    from trips

),

airports as (

    select
        timed.*,
        {{ airport_code('timed.pickup_location_id') }} as pickup_airport_code,
        {{ airport_code('timed.dropoff_location_id') }} as dropoff_airport_code
    from timed

),

final as (

    select
        airports.*,
        (airports.pickup_day_of_week - 1) * 24 + airports.pickup_hour as pickup_hour_of_week,
        coalesce(pickup_zone.borough_name, 'Unknown') as pickup_borough_name,
        coalesce(dropoff_zone.borough_name, 'Unknown') as dropoff_borough_name,
        coalesce(airports.pickup_airport_code, airports.dropoff_airport_code) as airport_code,
        coalesce(
            airports.pickup_airport_code, airports.dropoff_airport_code
        ) is not null as is_airport_trip,
        case
            when airports.fare_amount > 0 then airports.tip_amount / airports.fare_amount
        end as tip_rate,
        case
            when airports.trip_distance_miles < 1 then '00-01 mi'
            when airports.trip_distance_miles < 2 then '01-02 mi'
            when airports.trip_distance_miles < 5 then '02-05 mi'
            when airports.trip_distance_miles < 10 then '05-10 mi'
            when airports.trip_distance_miles < 20 then '10-20 mi'
            else '20+ mi'
        end as distance_band,
        coalesce(airports.fare_amount, 0)
        + coalesce(airports.extra_amount, 0)
        + coalesce(airports.tip_amount, 0) as driver_revenue_amount,
        -- The rest of the total: taxes, surcharges, fees and tolls collected for others. The
        -- residual rather than the sum of the items, as flex-fare records leave some empty.
        airports.total_amount
        - coalesce(airports.fare_amount, 0)
        - coalesce(airports.extra_amount, 0)
        - coalesce(airports.tip_amount, 0) as pass_through_amount
    from airports
    left join zones as pickup_zone
        on airports.pickup_location_id = pickup_zone.location_id
    left join zones as dropoff_zone
        on airports.dropoff_location_id = dropoff_zone.location_id

)

select * from final
