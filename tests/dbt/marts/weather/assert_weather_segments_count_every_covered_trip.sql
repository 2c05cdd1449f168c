{#- Each segmentation of demand_and_tips_by_weather (by condition, by temperature band) must
    count every trip (valid for demand) whose pickup hour has weather: no trip lost or counted twice by the
    hour spine and the baseline joins. Returns the segment types that disagree. -#}
with

segments as (

    select
        segment_type,
        sum(trips) as trips
    from {{ ref('demand_and_tips_by_weather') }}
    group by segment_type

),

covered_trips as (

    select count(*) as trips
    from {{ ref('int_trips_with_weather') }}
    where {{ valid_for('demand') }} and has_weather

)

select
    segments.segment_type,
    segments.trips as segment_trips,
    covered_trips.trips as covered_trips
from segments
cross join covered_trips
where segments.trips != covered_trips.trips
