{#- One row per trip of every service, valid or not, with every validity flag (one per rule
    of the seed trip_validity_rules, one per scope) and the trip's money measures.
    Incremental by dlt load: a run takes every load the table does not hold yet, whatever its
    id (a late or replayed file has an older id than the newest), and replaces the rows of
    each file's dataset and month (file_kind, source_file_month) the new loads bring - a
    re-loaded month's rows, in any format, replace the old ones instead of adding to them,
    and a re-loaded yellow month leaves the green, fhv and fhvhv rows of that month alone -
    so a new month never rebuilds history. DuckDB does it with delete+insert on the pair;
    Spark (Delta) with insert_overwrite of the table partitioned by the pair in dynamic mode,
    one Delta commit replacing exactly the partitions the batch holds. -#}
{%- set on_spark = target.type == 'spark' %}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite' if on_spark else 'delete+insert',
        unique_key=none if on_spark else ['file_kind', 'source_file_month'],
        partition_by=['file_kind', 'source_file_month'] if on_spark else none,
        on_schema_change='fail',
    )
}}

-- depends_on: {{ ref('trip_validity_rules') }}
with

{% if is_incremental() %}
loads_in_table as (

    select distinct load_id
    from {{ this }}

),
{% endif %}

trips as (

    select enriched.*
    from {{ ref('int_trips_enriched') }} as enriched
    {% if is_incremental() %}
    where
        not exists (
            select 1 as is_held
            from loads_in_table
            where loads_in_table.load_id = enriched.load_id
        )
    {% endif %}

),

final as (

    select
        trip_id,
        service,
        file_kind,
        vendor_id,
        rate_code_id,
        payment_type_id,
        pickup_location_id,
        dropoff_location_id,
        hvfhs_license_num,
        dispatching_base_num,
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
        driver_revenue_amount,
        pass_through_amount,
        tip_rate,
        is_store_and_forward,
        is_airport_trip,
        {%- for rule in trip_validity_rules() %}
        is_{{ rule.name }},
        {%- endfor %}
        {%- for scope in trip_scopes() %}
        is_valid_for_{{ scope }},
        {%- endfor %}
        is_valid,
        refunded_by_trip_id,
        reverses_trip_id,
        source_file_month,
        pickup_date,
        pickup_at_local,
        dropoff_at_local,
        loaded_at
    from trips

)

select * from final
