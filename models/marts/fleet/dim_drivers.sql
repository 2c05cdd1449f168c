with

drivers as (

    select * from {{ ref('stg_fleet_db__drivers') }}

),

driver_history as (

    select * from {{ ref('fleet_db__drivers_snapshot') }}

),

shifts as (

    select * from {{ ref('int_shifts_filtered') }}

),

versions as (

    select
        driver_id,
        count(*) as status_rating_versions,
        min(dbt_valid_from) as first_seen_at
    from driver_history
    group by driver_id

),

shift_totals as (

    select
        driver_id,
        count(*) as shifts_worked,
        sum(shift_hours) as hours_on_shift,
        min(started_at) as first_shift_at,
        max(ended_at) as last_shift_at
    from shifts
    group by driver_id

),

final as (

    select
        drivers.driver_id,
        drivers.driver_name,
        drivers.license_number,
        drivers.driver_status,
        drivers.rating,
        drivers.is_deleted,
        drivers.driver_status = 'active' and not drivers.is_deleted as is_active,
        drivers.hired_at,
        coalesce(drivers.deleted_at, drivers.hard_deleted_at) as deleted_at,
        coalesce(versions.status_rating_versions, 0) as status_rating_versions,
        coalesce(shift_totals.shifts_worked, 0) as shifts_worked,
        coalesce(shift_totals.hours_on_shift, 0) as hours_on_shift,
        shift_totals.first_shift_at,
        shift_totals.last_shift_at
    from drivers
    left join versions
        on drivers.driver_id = versions.driver_id
    left join shift_totals
        on drivers.driver_id = shift_totals.driver_id

)

select * from final
