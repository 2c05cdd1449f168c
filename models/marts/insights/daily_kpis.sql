{#- How is the business doing day by day? Valid trips per pickup date (New York local). -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    where is_valid

),

final as (

    select
        pickup_date,
        cast(date_trunc('month', pickup_date) as date) as pickup_month,
        cast(count(*) as bigint) as trips,
        cast(sum(total_amount) as double) as revenue,
        cast(avg(fare_amount) as double) as average_fare,
        cast(avg(trip_distance_miles) as double) as average_distance_miles,
        cast(avg(duration_minutes) as double) as average_duration_minutes
    from trips
    group by pickup_date

)

select * from final
