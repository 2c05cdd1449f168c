-- Share of the fleet on shift by hour of the week (UTC): for every clock hour between the
-- first and the last shift, drivers on shift over drivers on the roster then (hired, not yet
-- deleted), averaged over the weeks observed.
with

shift_hours as (

    select * from {{ ref('int_shift_hours_expanded') }}

),

drivers as (

    select * from {{ ref('stg_fleet_db__drivers') }}

),

on_shift as (

    select
        hour_start_at,
        count(distinct driver_id) as drivers_on_shift
    from shift_hours
    group by hour_start_at

),

roster as (

    select
        on_shift.hour_start_at,
        on_shift.drivers_on_shift,
        count(drivers.driver_id) as drivers_on_roster
    from on_shift
    left join drivers
        on
            on_shift.hour_start_at >= drivers.hired_at
            and on_shift.hour_start_at
            < coalesce(drivers.deleted_at, drivers.hard_deleted_at, timestamp '9999-12-31')
    group by
        on_shift.hour_start_at,
        on_shift.drivers_on_shift

),

by_hour_of_week as (

    select
        cast(isodow(hour_start_at) as integer) as iso_day_of_week,
        cast(hour(hour_start_at) as integer) as hour_of_day,
        count(*) as hours_observed,
        avg(drivers_on_shift) as avg_drivers_on_shift,
        avg(drivers_on_roster) as avg_drivers_on_roster,
        avg(drivers_on_shift / nullif(drivers_on_roster, 0)) as share_of_fleet_active
    from roster
    group by
        isodow(hour_start_at),
        hour(hour_start_at)

),

final as (

    select
        (iso_day_of_week - 1) * 24 + hour_of_day as hour_of_week,
        iso_day_of_week,
        hour_of_day,
        hours_observed,
        round(avg_drivers_on_shift, 2) as avg_drivers_on_shift,
        round(avg_drivers_on_roster, 2) as avg_drivers_on_roster,
        round(share_of_fleet_active, 4) as share_of_fleet_active
    from by_hour_of_week

)

select * from final
