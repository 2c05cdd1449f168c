{#- How is the business doing day by day? Per pickup date (New York local): trips (demand),
    the four money measures over revenue trips, the congestion fee, and the average fare,
    distance and duration over the trips valid for each. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow' and {{ valid_for('demand') }}

),

final as (

    select
        pickup_date,
        cast(date_trunc('month', pickup_date) as date) as pickup_month,
        cast(count(*) as bigint) as trips,
        cast(count(*) filter (where {{ valid_for('revenue') }}) as bigint) as revenue_trips,
        cast(
            coalesce(sum(fare_amount) filter (where {{ valid_for('revenue') }}), 0) as double
        ) as fare_revenue,
        cast(
            coalesce(sum(driver_revenue_amount) filter (where {{ valid_for('revenue') }}), 0)
            as double
        ) as driver_revenue,
        cast(
            coalesce(sum(total_amount) filter (where {{ valid_for('revenue') }}), 0) as double
        ) as total_paid,
        cast(
            coalesce(sum(pass_through_amount) filter (where {{ valid_for('revenue') }}), 0)
            as double
        ) as pass_through_charges,
        cast(
            coalesce(
                sum(cbd_congestion_fee_amount) filter (where {{ valid_for('revenue') }}), 0
            ) as double
        ) as cbd_congestion_fees,
        cast(
            count(*) filter (
                where {{ valid_for('revenue') }} and cbd_congestion_fee_amount > 0
            ) as bigint
        ) as trips_charged_cbd_fee,
        cast(avg(fare_amount) filter (where {{ valid_for('revenue') }}) as double) as average_fare,
        cast(
            avg(trip_distance_miles) filter (where {{ valid_for('distance_time') }}) as double
        ) as average_distance_miles,
        cast(
            avg(duration_minutes) filter (where {{ valid_for('distance_time') }}) as double
        ) as average_duration_minutes
    from trips
    group by pickup_date

)

select * from final
