with

vehicles as (

    select * from {{ ref('stg_fleet_db__vehicles') }}

),

shifts as (

    select * from {{ ref('int_shifts_filtered') }}

),

usage as (

    select
        vehicle_id,
        count(*) as shifts_driven,
        count(distinct driver_id) as distinct_drivers,
        sum(shift_hours) as hours_in_service,
        max(ended_at) as last_shift_at
    from shifts
    group by vehicle_id

),

final as (

    select
        vehicles.vehicle_id,
        vehicles.license_plate,
        vehicles.make,
        vehicles.model,
        vehicles.model_year,
        vehicles.fuel_type,
        vehicles.seats,
        vehicles.card_reader_vendor,
        vehicles.is_wheelchair_accessible,
        vehicles.has_partition,
        vehicles.has_camera,
        vehicles.has_dashcam,
        vehicles.is_deleted,
        coalesce(vehicles.deleted_at, vehicles.hard_deleted_at) as retired_at,
        coalesce(usage.shifts_driven, 0) as shifts_driven,
        coalesce(usage.distinct_drivers, 0) as distinct_drivers,
        coalesce(usage.hours_in_service, 0) as hours_in_service,
        usage.last_shift_at
    from vehicles
    left join usage
        on vehicles.vehicle_id = usage.vehicle_id

)

select * from final
