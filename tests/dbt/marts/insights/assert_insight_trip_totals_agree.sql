-- Each mart that partitions a set of trips sums to that set: demand by hour of week and the
-- pickups by zone to the trips of daily_kpis (valid for demand), the tip-rate payment-type
-- rows to the trips valid for tips.
with

totals as (

    select
        'demand_by_hour_of_week' as mart,
        sum(trips) as trips,
        'demand' as scope
    from {{ ref('demand_by_hour_of_week') }}
    union all
    select
        'trips_by_zone' as mart,
        sum(pickups) as trips,
        'demand' as scope
    from {{ ref('trips_by_zone') }}
    union all
    select
        'tip_rates' as mart,
        sum(trips) as trips,
        'tips' as scope
    from {{ ref('tip_rates') }}
    where segment_type = 'payment_type'

),

expected as (

    select
        'demand' as scope,
        sum(trips) as trips
    from {{ ref('daily_kpis') }}
    union all
    select
        'tips' as scope,
        count(*) as trips
    from {{ ref('fct_trips') }}
    where service = 'yellow' and {{ valid_for('tips') }}

)

select
    totals.mart,
    totals.trips as mart_trips,
    expected.trips as expected_trips
from totals
inner join expected
    on totals.scope = expected.scope
where totals.trips is distinct from expected.trips
