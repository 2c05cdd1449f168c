-- Revenue and trips in daily_kpis equal those of the valid trips in fct_trips, day by day
-- (to the cent): the KPI layer neither loses nor invents trips.
with

daily as (

    select * from {{ ref('daily_kpis') }}

),

trips as (

    select
        pickup_date,
        count(*) as trips,
        sum(total_amount) as revenue
    from {{ ref('fct_trips') }}
    where is_valid
    group by pickup_date

)

select
    coalesce(daily.pickup_date, trips.pickup_date) as pickup_date,
    daily.trips as kpi_trips,
    trips.trips as fact_trips,
    daily.revenue as kpi_revenue,
    trips.revenue as fact_revenue
from daily
full outer join trips
    on daily.pickup_date = trips.pickup_date
where
    daily.trips is distinct from trips.trips
    or abs(coalesce(daily.revenue, 0) - coalesce(trips.revenue, 0)) >= 0.01
