{#- Every service's trips in one shape, the yellow staging model's columns plus the service:
    yellow, green, fhv (other bases) and one per high-volume company (seed tlc_services,
    by hvfhs_license_num). What a service does not record is null: FHV files carry no
    money, distance or passengers; high-volume trips have no vendor, rate code or payment
    type, their fare is the base passenger fare and their total what the rider paid (fare,
    tolls, black car fund, sales tax, surcharges, fees and tip). file_kind names the TLC
    dataset the row came from (fhvhv for all four companies): fct_trips replaces a re-loaded
    file by (file_kind, source_file_month). Refunds pair by vendor, so a high-volume or fhv
    refund row (no vendor) is never netted: it stays an unmatched refund. -#}
with

yellow as (

    select * from {{ ref('stg_tlc__yellow_trips') }}

),

green as (

    select * from {{ ref('stg_tlc__green_trips') }}

),

fhv as (

    select * from {{ ref('stg_tlc__fhv_trips') }}

),

fhvhv as (

    select * from {{ ref('stg_tlc__fhvhv_trips') }}

),

services as (

    select * from {{ ref('tlc_services') }}

),

yellow_shaped as (

    select
        trip_id,
        'yellow' as service,
        'yellow' as file_kind,
        vendor_id,
        rate_code_id,
        payment_type_id,
        pickup_location_id,
        dropoff_location_id,
        cast(null as {{ dbt.type_string() }}) as hvfhs_license_num,
        cast(null as {{ dbt.type_string() }}) as dispatching_base_num,
        source_file,
        load_id,
        passenger_count,
        trip_distance_miles,
        fare_amount,
        extra_amount,
        mta_tax_amount,
        tip_amount,
        tolls_amount,
        improvement_surcharge_amount,
        congestion_surcharge_amount,
        airport_fee_amount,
        cbd_congestion_fee_amount,
        total_amount,
        is_store_and_forward,
        source_file_month,
        pickup_at_local,
        dropoff_at_local,
        loaded_at
    from yellow

),

green_shaped as (

    select
        trip_id,
        'green' as service,
        'green' as file_kind,
        vendor_id,
        rate_code_id,
        payment_type_id,
        pickup_location_id,
        dropoff_location_id,
        cast(null as {{ dbt.type_string() }}) as hvfhs_license_num,
        cast(null as {{ dbt.type_string() }}) as dispatching_base_num,
        source_file,
        load_id,
        passenger_count,
        trip_distance_miles,
        fare_amount,
        extra_amount,
        mta_tax_amount,
        tip_amount,
        tolls_amount,
        improvement_surcharge_amount,
        congestion_surcharge_amount,
        -- Green files have no airport fee column (airport pickups are rare for boro cabs).
        cast(null as double) as airport_fee_amount,
        cbd_congestion_fee_amount,
        total_amount,
        is_store_and_forward,
        source_file_month,
        pickup_at_local,
        dropoff_at_local,
        loaded_at
    from green

),

fhv_shaped as (

    select
        trip_id,
        'fhv' as service,
        'fhv' as file_kind,
        cast(null as integer) as vendor_id,
        cast(null as integer) as rate_code_id,
        cast(null as integer) as payment_type_id,
        pickup_location_id,
        dropoff_location_id,
        cast(null as {{ dbt.type_string() }}) as hvfhs_license_num,
        dispatching_base_num,
        source_file,
        load_id,
        cast(null as integer) as passenger_count,
        cast(null as double) as trip_distance_miles,
        cast(null as double) as fare_amount,
        cast(null as double) as extra_amount,
        cast(null as double) as mta_tax_amount,
        cast(null as double) as tip_amount,
        cast(null as double) as tolls_amount,
        cast(null as double) as improvement_surcharge_amount,
        cast(null as double) as congestion_surcharge_amount,
        cast(null as double) as airport_fee_amount,
        cast(null as double) as cbd_congestion_fee_amount,
        cast(null as double) as total_amount,
        false as is_store_and_forward,
        source_file_month,
        pickup_at_local,
        dropoff_at_local,
        loaded_at
    from fhv

),

fhvhv_shaped as (

    select
        fhvhv.trip_id,
        -- A licence the seed does not know keeps its rows under this name; the
        -- relationships test on service names it so the seed gets the new company.
        coalesce(services.service, 'unknown_hvfhs') as service,
        'fhvhv' as file_kind,
        cast(null as integer) as vendor_id,
        cast(null as integer) as rate_code_id,
        cast(null as integer) as payment_type_id,
        fhvhv.pickup_location_id,
        fhvhv.dropoff_location_id,
        fhvhv.hvfhs_license_num,
        fhvhv.dispatching_base_num,
        fhvhv.source_file,
        fhvhv.load_id,
        cast(null as integer) as passenger_count,
        fhvhv.trip_distance_miles,
        fhvhv.base_passenger_fare_amount as fare_amount,
        cast(null as double) as extra_amount,
        cast(null as double) as mta_tax_amount,
        fhvhv.tip_amount,
        fhvhv.tolls_amount,
        cast(null as double) as improvement_surcharge_amount,
        fhvhv.congestion_surcharge_amount,
        fhvhv.airport_fee_amount,
        fhvhv.cbd_congestion_fee_amount,
        fhvhv.base_passenger_fare_amount
        + coalesce(fhvhv.tolls_amount, 0)
        + coalesce(fhvhv.black_car_fund_amount, 0)
        + coalesce(fhvhv.sales_tax_amount, 0)
        + coalesce(fhvhv.congestion_surcharge_amount, 0)
        + coalesce(fhvhv.airport_fee_amount, 0)
        + coalesce(fhvhv.cbd_congestion_fee_amount, 0)
        + coalesce(fhvhv.tip_amount, 0) as total_amount,
        false as is_store_and_forward,
        fhvhv.source_file_month,
        fhvhv.pickup_at_local,
        fhvhv.dropoff_at_local,
        fhvhv.loaded_at
    from fhvhv
    left join services
        on fhvhv.hvfhs_license_num = services.hvfhs_license_num

),

final as (

    select * from yellow_shaped
    union all
    select * from green_shaped
    union all
    select * from fhv_shaped
    union all
    select * from fhvhv_shaped

)

select * from final
