{#- One row per yellow taxi trip, valid or not, with every validity flag.
    Incremental by dlt load: a run reads only loads newer than the newest in the table, and
    delete+insert on source_file replaces a re-loaded file's rows instead of duplicating them,
    so a new month never rebuilds history. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='source_file',
        on_schema_change='fail',
    )
}}

with

{% if is_incremental() %}
newest_load as (

    select coalesce(max(load_id), '') as load_id
    from {{ this }}

),
{% endif %}

trips as (

    select enriched.*
    from {{ ref('int_trips_enriched') }} as enriched
    {% if is_incremental() %}
    inner join newest_load
        on enriched.load_id > newest_load.load_id
    {% endif %}

),

final as (

    select
        trip_id,
        vendor_id,
        rate_code_id,
        payment_type_id,
        pickup_location_id,
        dropoff_location_id,
        source_file,
        load_id,
        pickup_borough_name,
        dropoff_borough_name,
        airport_code,
        distance_band,
        passenger_count,
        pickup_day_of_week,
        pickup_hour,
        pickup_hour_of_week,
        trip_distance_miles,
        duration_minutes,
        average_speed_mph,
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
        tip_rate,
        is_store_and_forward,
        is_airport_trip,
        is_negative_amount,
        is_zero_distance,
        is_dropoff_before_pickup,
        is_pickup_outside_file_month,
        is_unknown_zone,
        is_extreme_distance,
        is_extreme_speed,
        is_extreme_fare,
        is_missing_passenger_count,
        is_valid,
        source_file_month,
        pickup_date,
        pickup_at_local,
        dropoff_at_local,
        loaded_at
    from trips

)

select * from final
