with

zones as (

    select * from {{ ref('stg_tlc__taxi_zones') }}

),

final as (

    select
        location_id,
        zone_name,
        borough_name,
        service_zone_name,
        {{ airport_code('location_id') }} as airport_code,
        {{ airport_code('location_id') }} is not null as is_airport,
        location_id in ({{ var('unknown_zone_ids') | join(', ') }}) as is_unknown,
        location_id = {{ var('outside_nyc_zone_id') }} as is_outside_nyc
    from zones

)

select * from final
