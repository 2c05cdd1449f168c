{#- Trips per pickup month and service since the first file loaded (yellow 2009 on, green
    2013, fhv 2015, the high-volume companies 2019), with each service's share of the
    month: when did app-based trips overtake the yellow cabs? Trips valid for demand. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    where {{ valid_for('demand') }}

),

services as (

    select * from {{ ref('tlc_services') }}

),

dated as (

    select
        service,
        cast({{ dbt.date_trunc('month', 'pickup_at_local') }} as date) as pickup_month
    from trips

),

monthly as (

    select
        pickup_month,
        service,
        count(*) as trips
    from dated
    group by pickup_month, service

),

month_totals as (

    select
        pickup_month,
        sum(trips) as month_trips
    from monthly
    group by pickup_month

),

final as (

    select
        monthly.pickup_month,
        monthly.service,
        services.service_name,
        services.service_group,
        cast(monthly.trips as bigint) as trips,
        cast(monthly.trips as double) / month_totals.month_trips as share_of_month_trips
    from monthly
    inner join month_totals
        on monthly.pickup_month = month_totals.pickup_month
    left join services
        on monthly.service = services.service

)

select * from final
