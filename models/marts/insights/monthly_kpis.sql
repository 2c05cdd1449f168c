{#- How does each month compare with the one before? Daily KPIs rolled up to months, with
    month-over-month change (null for the first month). -#}
with

daily as (

    select * from {{ ref('daily_kpis') }}

),

monthly as (

    select
        pickup_month,
        count(*) as days_with_trips,
        sum(trips) as trips,
        sum(revenue) as revenue,
        sum(average_fare * trips) / sum(trips) as average_fare,
        sum(average_distance_miles * trips) / sum(trips) as average_distance_miles,
        sum(average_duration_minutes * trips) / sum(trips) as average_duration_minutes
    from daily
    group by pickup_month

),

final as (

    select
        pickup_month,
        cast(days_with_trips as bigint) as days_with_trips,
        cast(trips as bigint) as trips,
        cast(revenue as double) as revenue,
        cast(average_fare as double) as average_fare,
        cast(average_distance_miles as double) as average_distance_miles,
        cast(average_duration_minutes as double) as average_duration_minutes,
        cast(
            {{ safe_divide('trips', 'lag(trips) over (order by pickup_month)') }} - 1 as double
        ) as trips_change_vs_prior_month,
        cast(
            {{ safe_divide('revenue', 'lag(revenue) over (order by pickup_month)') }} - 1
            as double
        ) as revenue_change_vs_prior_month
    from monthly

)

select * from final
