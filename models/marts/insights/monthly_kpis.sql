{#- How does each month compare with the one before? Daily KPIs rolled up to months, with
    month-over-month change of trips and fare revenue (null for the first month). -#}
with

daily as (

    select * from {{ ref('daily_kpis') }}

),

monthly as (

    select
        pickup_month,
        count(*) as days_with_trips,
        sum(trips) as trips,
        sum(revenue_trips) as revenue_trips,
        sum(fare_revenue) as fare_revenue,
        sum(driver_revenue) as driver_revenue,
        sum(total_paid) as total_paid,
        sum(pass_through_charges) as pass_through_charges,
        sum(cbd_congestion_fees) as cbd_congestion_fees,
        sum(trips_charged_cbd_fee) as trips_charged_cbd_fee
    from daily
    group by pickup_month

),

final as (

    select
        pickup_month,
        cast(days_with_trips as bigint) as days_with_trips,
        cast(trips as bigint) as trips,
        cast(revenue_trips as bigint) as revenue_trips,
        cast(fare_revenue as double) as fare_revenue,
        cast(driver_revenue as double) as driver_revenue,
        cast(total_paid as double) as total_paid,
        cast(pass_through_charges as double) as pass_through_charges,
        cast(cbd_congestion_fees as double) as cbd_congestion_fees,
        cast(trips_charged_cbd_fee as bigint) as trips_charged_cbd_fee,
        cast({{ safe_divide('fare_revenue', 'revenue_trips') }} as double) as average_fare,
        cast(trips as double) / days_with_trips as trips_per_day,
        cast(
            {{ safe_divide('trips', 'lag(trips) over (order by pickup_month)') }} - 1 as double
        ) as trips_change_vs_prior_month,
        cast(
            {{ safe_divide('fare_revenue', 'lag(fare_revenue) over (order by pickup_month)') }}
            - 1 as double
        ) as fare_revenue_change_vs_prior_month
    from monthly

)

select * from final
