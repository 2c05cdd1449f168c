{#- What does the licensed for-hire fleet look like? Per base, per base type and per vehicle
    age: vehicles, share of the fleet, wheelchair-accessible vehicles and their share, and the
    average vehicle age. Age is in model years as of the year of the dataset's latest update,
    so a rebuild of the same data gives the same answer. -#}
with

vehicles as (

    select * from {{ ref('stg_open_data__fhv_vehicles') }}
    where is_active

),

as_of as (

    select max(extract(year from tlc_updated_date)) as as_of_year from vehicles

),

aged as (

    select
        vehicles.*,
        greatest(as_of.as_of_year - vehicles.vehicle_model_year, 0) as vehicle_age_years
    from vehicles
    cross join as_of

),

by_base as (

    select
        'base' as segment_type,
        base_id as segment_value,
        max(base_name) as segment_label,
        count(*) as vehicles,
        sum(case when is_wheelchair_accessible then 1 else 0 end) as wheelchair_accessible_vehicles,
        avg(vehicle_age_years) as average_vehicle_age_years
    from aged
    group by base_id

),

by_base_type as (

    select
        'base_type' as segment_type,
        coalesce(base_type, 'Unknown') as segment_value,
        coalesce(base_type, 'Unknown') as segment_label,
        count(*) as vehicles,
        sum(case when is_wheelchair_accessible then 1 else 0 end) as wheelchair_accessible_vehicles,
        avg(vehicle_age_years) as average_vehicle_age_years
    from aged
    group by coalesce(base_type, 'Unknown')

),

by_age as (

    select
        'vehicle_age_years' as segment_type,
        coalesce(lpad(cast(vehicle_age_years as varchar), 2, '0'), 'Unknown') as segment_value,
        coalesce(cast(vehicle_age_years as varchar) || ' years', 'Unknown') as segment_label,
        count(*) as vehicles,
        sum(case when is_wheelchair_accessible then 1 else 0 end) as wheelchair_accessible_vehicles,
        avg(vehicle_age_years) as average_vehicle_age_years
    from aged
    group by vehicle_age_years

),

segments as (

    select * from by_base
    union all
    select * from by_base_type
    union all
    select * from by_age

),

fleet as (

    select count(*) as fleet_vehicles from aged

),

final as (

    select
        cast(segments.segment_type as varchar) as segment_type,
        cast(segments.segment_value as varchar) as segment_value,
        cast(segments.segment_label as varchar) as segment_label,
        cast(segments.vehicles as bigint) as vehicles,
        cast({{ safe_divide('segments.vehicles', 'fleet.fleet_vehicles') }} as double)
            as share_of_fleet,
        cast(segments.wheelchair_accessible_vehicles as bigint)
            as wheelchair_accessible_vehicles,
        cast(
            {{ safe_divide('segments.wheelchair_accessible_vehicles', 'segments.vehicles') }}
            as double
        ) as wheelchair_accessible_share,
        cast(segments.average_vehicle_age_years as double) as average_vehicle_age_years
    from segments
    cross join fleet

)

select * from final
