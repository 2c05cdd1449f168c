{#- What does a typical trip look like, beyond the mean? Histograms of distance, duration,
    fare, speed and card tip rate: fixed-width bins (the last one open-ended), each over the
    trips valid for that measure. -#}
{%- set measures = [
    {'name': 'trip_distance_miles', 'expr': 'trip_distance_miles', 'width': 0.5, 'max': 20,
     'scope': 'distance_time'},
    {'name': 'duration_minutes', 'expr': 'duration_minutes', 'width': 2, 'max': 80,
     'scope': 'distance_time'},
    {'name': 'average_speed_mph', 'expr': 'average_speed_mph', 'width': 1, 'max': 40,
     'scope': 'distance_time'},
    {'name': 'fare_amount', 'expr': 'fare_amount', 'width': 2.5, 'max': 100,
     'scope': 'revenue'},
    {'name': 'card_tip_rate', 'expr': 'case when payment_type_id = 1 then tip_rate end',
     'width': 0.025, 'max': 0.6, 'scope': 'tips'},
] -%}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow'

),

binned as (

    {%- for measure in measures %}
    select
        '{{ measure.name }}' as measure_name,
        least(
            floor(({{ measure.expr }}) / {{ measure.width }}),
            {{ (measure.max / measure.width) | int }}
        ) as bin_index,
        {{ measure.width }} as bin_width,
        {{ measure.max }} as open_from
    from trips
    where {{ valid_for(measure.scope) }} and ({{ measure.expr }}) is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

counted as (

    select
        measure_name,
        bin_index,
        bin_width,
        open_from,
        count(*) as trips
    from binned
    group by measure_name, bin_index, bin_width, open_from

),

final as (

    select
        cast(measure_name as {{ dbt.type_string() }}) as measure_name,
        cast(bin_index as integer) as bin_index,
        cast(bin_index * bin_width as double) as bin_lower,
        cast(
            case
                when bin_index * bin_width < open_from then (bin_index + 1) * bin_width
            end as double
        ) as bin_upper,
        cast(trips as bigint) as trips,
        cast(trips as double) / sum(trips) over (partition by measure_name) as share_of_trips
    from counted

)

select * from final
