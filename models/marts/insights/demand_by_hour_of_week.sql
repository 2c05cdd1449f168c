{#- When is the city busiest? Trips (valid for demand) per pickup borough and hour of the week. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow' and {{ valid_for('demand') }}

),

counted as (

    select
        pickup_borough_name,
        pickup_hour_of_week,
        pickup_day_of_week,
        pickup_hour,
        count(*) as trips
    from trips
    group by pickup_borough_name, pickup_hour_of_week, pickup_day_of_week, pickup_hour

),

final as (

    select
        pickup_borough_name,
        cast(pickup_hour_of_week as integer) as pickup_hour_of_week,
        cast(pickup_day_of_week as integer) as pickup_day_of_week,
        cast(pickup_hour as integer) as pickup_hour,
        cast(trips as bigint) as trips,
        cast(trips as double) / sum(trips) over () as share_of_week,
        cast(trips as double)
        / sum(trips) over (partition by pickup_borough_name) as share_of_borough_week
    from counted

)

select * from final
