{#- Each segmentation of fhv_fleet_composition (base, base type, vehicle age) must add up to
    the active fleet, with shares summing to 1. Returns the segment types that do not. -#}
with

segments as (

    select
        segment_type,
        sum(vehicles) as vehicles,
        sum(share_of_fleet) as share_of_fleet
    from {{ ref('fhv_fleet_composition') }}
    group by segment_type

),

fleet as (

    select count(*) as vehicles
    from {{ ref('stg_open_data__fhv_vehicles') }}
    where is_active

)

select
    segments.segment_type,
    segments.vehicles as segment_vehicles,
    fleet.vehicles as fleet_vehicles,
    segments.share_of_fleet
from segments
cross join fleet
where
    segments.vehicles != fleet.vehicles
    or abs(segments.share_of_fleet - 1) > 1e-9
