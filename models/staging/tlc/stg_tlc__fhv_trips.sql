{#- For-hire vehicle trips of the bases that are not high-volume companies (community car
    services, black cars, luxury limousines): who dispatched, when, and which zones. The
    FHV files carry no fare, distance or passenger count. A warehouse that never loaded
    fhv gets an empty view (macro optional_source). -#}
{%- set raw_columns = [
    ['dispatching_base_num', dbt.type_string()],
    ['pickup_datetime', dbt.type_timestamp()],
    ['dropoff_datetime', dbt.type_timestamp()],
    ['pu_location_id', 'bigint'],
    ['do_location_id', 'bigint'],
    ['sr_flag', 'bigint'],
    ['affiliated_base_number', dbt.type_string()],
    ['_source_file', dbt.type_string()],
    ['_dlt_load_id', dbt.type_string()],
] -%}
with

source as (

    {{ optional_source('tlc', 'fhv_trips', raw_columns) }}

),

renamed as (

    select
        ---------- ids
        {{ trip_key(raw_columns[:-2]) }} as trip_id,
        cast(pu_location_id as integer) as pickup_location_id,
        cast(do_location_id as integer) as dropoff_location_id,

        ---------- strings
        upper(trim(dispatching_base_num)) as dispatching_base_num,
        upper(trim(affiliated_base_number)) as affiliated_base_num,
        _source_file as source_file,
        _dlt_load_id as load_id,

        ---------- booleans
        coalesce(sr_flag = 1, false) as is_shared_ride,

        ---------- dates and timestamps (New York local wall-clock time, no time zone)
        {{ file_month('_source_file') }} as source_file_month,
        cast(pickup_datetime as timestamp) as pickup_at_local,
        cast(dropoff_datetime as timestamp) as dropoff_at_local,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at

    from source

)

select * from renamed
