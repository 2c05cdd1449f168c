-- Demand, efficiency and the tip-rate payment-type rows each partition the valid trips, so
-- each must sum to the same number of trips as daily_kpis.
with

totals as (

    select
        'demand_by_hour_of_week' as mart,
        sum(trips) as trips
    from {{ ref('demand_by_hour_of_week') }}
    union all
    select
        'trip_efficiency' as mart,
        sum(trips) as trips
    from {{ ref('trip_efficiency') }}
    union all
    select
        'tip_rates' as mart,
        sum(trips) as trips
    from {{ ref('tip_rates') }}
    where segment_type = 'payment_type'

),

expected as (

    select sum(trips) as trips
    from {{ ref('daily_kpis') }}

)

select
    totals.mart,
    totals.trips as mart_trips,
    expected.trips as expected_trips
from totals
cross join expected
where totals.trips is distinct from expected.trips
