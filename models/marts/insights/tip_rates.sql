{#- How generous are passengers? Tip rate (tips / fare) by payment type, and for card trips
    (the only ones whose tips are recorded) by pickup hour and distance band; trips valid for
    tips only (refunds, reversed, no-charge and mistyped fares, tips above the fare are out). -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow' and {{ valid_for('tips') }}

),

payment_types as (

    select * from {{ ref('tlc_payment_types') }}

),

by_payment_type as (

    select
        'payment_type' as segment_type,
        coalesce(payment_types.payment_type_name, 'Unknown') as segment_value,
        count(*) as trips,
        sum(trips.tip_amount) as tips,
        sum(trips.fare_amount) as fares,
        sum(case when trips.tip_amount > 0 then 1 else 0 end) as tipped_trips
    from trips
    left join payment_types
        on trips.payment_type_id = payment_types.payment_type_id
    group by coalesce(payment_types.payment_type_name, 'Unknown')

),

card_trips as (

    select * from trips
    where payment_type_id = 1

),

by_hour as (

    select
        'pickup_hour' as segment_type,
        lpad(cast(pickup_hour as {{ dbt.type_string() }}), 2, '0') as segment_value,
        count(*) as trips,
        sum(tip_amount) as tips,
        sum(fare_amount) as fares,
        sum(case when tip_amount > 0 then 1 else 0 end) as tipped_trips
    from card_trips
    group by pickup_hour

),

by_distance as (

    select
        'distance_band' as segment_type,
        distance_band as segment_value,
        count(*) as trips,
        sum(tip_amount) as tips,
        sum(fare_amount) as fares,
        sum(case when tip_amount > 0 then 1 else 0 end) as tipped_trips
    from card_trips
    group by distance_band

),

unioned as (

    select * from by_payment_type
    union all
    select * from by_hour
    union all
    select * from by_distance

),

final as (

    select
        cast(segment_type as {{ dbt.type_string() }}) as segment_type,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value,
        cast(trips as bigint) as trips,
        cast(tips as double) as tips,
        cast(fares as double) as fares,
        cast({{ safe_divide('tips', 'fares') }} as double) as tip_rate,
        cast(tipped_trips as double) / trips as share_tipped
    from unioned

)

select * from final
