-- daily_kpis agree with fct_trips day by day (to the cent): trips are the trips valid for
-- demand, fare revenue and total paid sum the trips valid for revenue. The KPI layer neither
-- loses nor invents trips or money.
with

daily as (

    select * from {{ ref('daily_kpis') }}

),

trips as (

    select
        pickup_date,
        count(*) as trips,
        sum(fare_amount) filter (where {{ valid_for('revenue') }}) as fare_revenue,
        sum(total_amount) filter (where {{ valid_for('revenue') }}) as total_paid
    from {{ ref('fct_trips') }}
    where service = 'yellow' and {{ valid_for('demand') }}
    group by pickup_date

)

select
    coalesce(daily.pickup_date, trips.pickup_date) as pickup_date,
    daily.trips as kpi_trips,
    trips.trips as fact_trips,
    daily.fare_revenue as kpi_fare_revenue,
    trips.fare_revenue as fact_fare_revenue,
    daily.total_paid as kpi_total_paid,
    trips.total_paid as fact_total_paid
from daily
full outer join trips
    on daily.pickup_date = trips.pickup_date
where
    daily.trips is distinct from trips.trips
    or abs(coalesce(daily.fare_revenue, 0) - coalesce(trips.fare_revenue, 0)) >= 0.01
    or abs(coalesce(daily.total_paid, 0) - coalesce(trips.total_paid, 0)) >= 0.01
