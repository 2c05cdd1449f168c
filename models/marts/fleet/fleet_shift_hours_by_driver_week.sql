-- Hours on shift per driver per ISO week (weeks start on Monday, UTC), counted by the clock
-- hours each shift covers, so a shift across Sunday midnight counts in both weeks.
with

shift_hours as (

    select * from {{ ref('int_shift_hours_expanded') }}

),

weekly as (

    select
        driver_id,
        cast(date_trunc('week', hour_start_at) as date) as week_start_date,
        count(distinct shift_id) as shifts,
        sum(hours_on_shift) as hours_on_shift
    from shift_hours
    group by
        driver_id,
        cast(date_trunc('week', hour_start_at) as date)

),

final as (

    select
        driver_id,
        week_start_date,
        shifts,
        round(hours_on_shift, 2) as hours_on_shift,
        round(hours_on_shift / 168.0, 4) as share_of_week_on_shift
    from weekly

)

select * from final
