-- Shifts that count for utilisation: not deleted (soft or hard), closed, and with a positive
-- duration. Open shifts are left out until they end.
with

shifts as (

    select * from {{ ref('stg_fleet_db__shifts') }}

),

filtered as (

    select
        shift_id,
        driver_id,
        vehicle_id,
        base_zone_id,
        started_at,
        ended_at,
        date_diff('second', started_at, ended_at) / 3600.0 as shift_hours
    from shifts
    where
        not is_deleted
        and ended_at is not null
        and ended_at > started_at

)

select * from filtered
