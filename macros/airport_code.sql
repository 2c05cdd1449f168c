{#- The airport a TLC zone id is, from var airport_zones (1 EWR, 132 JFK, 138 LGA), else null.
    Detection by zone id, not by rate code: the rate code is driver-set and often standard
    on airport trips, the zone is where the meter actually started or stopped. -#}
{% macro airport_code(location_id) -%}
    case {{ location_id }}
        {%- for zone_id, code in var('airport_zones').items() %}
        when {{ zone_id }} then '{{ code }}'
        {%- endfor %}
    end
{%- endmacro %}
