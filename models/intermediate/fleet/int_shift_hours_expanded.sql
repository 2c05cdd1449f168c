-- One row per shift per clock hour (UTC) it touches, with the hours of that clock hour spent
-- on shift. generate_series over each shift is DuckDB syntax; a join to an hour spine would be
-- the portable form, at the cost of a range join over every shift.
with

shifts as (

    select * from {{ ref('int_shifts_filtered') }}

),

hours as (

    select
        shifts.shift_id,
        shifts.driver_id,
        shifts.started_at,
        shifts.ended_at,
        unnest(
            generate_series(
                date_trunc('hour', shifts.started_at),
                shifts.ended_at - interval '1 microsecond',
                interval '1 hour'
            )
        ) as hour_start_at
    from shifts

),

expanded as (

    select
        shift_id,
        driver_id,
        hour_start_at,
        date_diff(
            'second',
            greatest(started_at, hour_start_at),
            least(ended_at, hour_start_at + interval '1 hour')
        ) / 3600.0 as hours_on_shift
    from hours

)

select * from expanded
