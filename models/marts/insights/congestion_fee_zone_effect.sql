{#- The Congestion Relief Zone fee from var cbd_fee_start_date (Sunday 5 January 2025):
    trips into, within and out of the zone (seed congestion_relief_zones), their fares and
    speeds, week by week for var cbd_fee_window_weeks weeks before and after the start,
    against the same weeks a year earlier (364 days, so weekdays line up: 7 January 2024 is
    a Sunday too). Trips valid for zones (both zones known); fares over trips valid for
    revenue, speeds over trips valid for distance_time (total miles / total hours). -#}
{%- set fee_start = "cast('" ~ var('cbd_fee_start_date') ~ "' as date)" -%}
{%- set window_days = var('cbd_fee_window_weeks') * 7 -%}
with

trips as (

    select * from {{ ref('fct_trips') }}
    where {{ valid_for('zones') }}

),

relief_zones as (

    select location_id from {{ ref('congestion_relief_zones') }}

),

related as (

    select
        trips.service,
        trips.pickup_date,
        trips.fare_amount,
        trips.trip_distance_miles,
        trips.duration_minutes,
        trips.cbd_congestion_fee_amount,
        trips.is_valid_for_revenue,
        trips.is_valid_for_distance_time,
        case
            when pickup_zone.location_id is not null and dropoff_zone.location_id is not null
                then 'within'
            when dropoff_zone.location_id is not null then 'into'
            when pickup_zone.location_id is not null then 'out of'
        end as zone_relation,
        {{ dbt.datediff(fee_start, 'trips.pickup_date', 'day') }} as days_from_fee_start -- noqa: LT05
    from trips
    left join relief_zones as pickup_zone
        on trips.pickup_location_id = pickup_zone.location_id
    left join relief_zones as dropoff_zone
        on trips.dropoff_location_id = dropoff_zone.location_id

),

windowed as (

    select
        related.*,
        related.days_from_fee_start < -{{ window_days }} as is_year_earlier,
        case
            when
                related.days_from_fee_start >= -{{ window_days }}
                and related.days_from_fee_start < {{ window_days }}
                then related.days_from_fee_start
            when
                related.days_from_fee_start + 364 >= -{{ window_days }}
                and related.days_from_fee_start + 364 < {{ window_days }}
                then related.days_from_fee_start + 364
        end as days_in_window
    from related
    where related.zone_relation is not null

),

placed as (

    select
        windowed.*,
        cast(floor(windowed.days_in_window / 7.0) as integer) as week_offset
    from windowed
    where windowed.days_in_window is not null

),

weekly as (

    select
        service,
        zone_relation,
        week_offset,
        is_year_earlier,
        count(*) as trips,
        sum(case when is_valid_for_revenue then fare_amount end) as fare_revenue,
        sum(
            case when is_valid_for_revenue and fare_amount is not null then 1 else 0 end
        ) as revenue_trips,
        sum(case when is_valid_for_distance_time then trip_distance_miles end) as miles,
        sum(case when is_valid_for_distance_time then duration_minutes end) / 60.0 as hours,
        sum(case when is_valid_for_revenue then cbd_congestion_fee_amount end) as cbd_fees
    from placed
    group by service, zone_relation, week_offset, is_year_earlier

),

paired as (

    select
        service,
        zone_relation,
        week_offset,
        sum(case when not is_year_earlier then trips else 0 end) as trips,
        sum(case when is_year_earlier then trips else 0 end) as trips_year_earlier,
        sum(case when not is_year_earlier then fare_revenue end) as fare_revenue,
        sum(case when is_year_earlier then fare_revenue end) as fare_revenue_year_earlier,
        sum(case when not is_year_earlier then revenue_trips end) as revenue_trips,
        sum(case when is_year_earlier then revenue_trips end) as revenue_trips_year_earlier,
        sum(case when not is_year_earlier then miles end) as miles,
        sum(case when is_year_earlier then miles end) as miles_year_earlier,
        sum(case when not is_year_earlier then hours end) as hours,
        sum(case when is_year_earlier then hours end) as hours_year_earlier,
        sum(case when not is_year_earlier then cbd_fees end) as cbd_fees
    from weekly
    group by service, zone_relation, week_offset

),

final as (

    select
        service,
        zone_relation,
        week_offset,
        cast({{ dbt.dateadd('day', 'week_offset * 7', fee_start) }} as date) as week_start_date,
        week_offset >= 0 as is_after_fee_start,
        cast(trips as bigint) as trips,
        cast(trips_year_earlier as bigint) as trips_year_earlier,
        cast(
            {{ safe_divide('trips', 'trips_year_earlier') }} - 1 as double
        ) as trips_change_vs_year_earlier,
        cast(fare_revenue as double) as fare_revenue,
        cast({{ safe_divide('fare_revenue', 'revenue_trips') }} as double) as average_fare,
        cast(
            {{ safe_divide('fare_revenue_year_earlier', 'revenue_trips_year_earlier') }}
            as double
        ) as average_fare_year_earlier,
        cast({{ safe_divide('miles', 'hours') }} as double) as average_speed_mph,
        cast(
            {{ safe_divide('miles_year_earlier', 'hours_year_earlier') }} as double
        ) as average_speed_mph_year_earlier,
        cast(cbd_fees as double) as cbd_congestion_fees
    from paired

)

select * from final
