{#- How healthy is the data? Per source-file month, rows failing each validity rule (seed
    trip_validity_rules), over all rows of that month's file, valid or not. -#}
{%- set rules = {
    'negative_amount': 'is_negative_amount',
    'zero_distance': 'is_zero_distance',
    'dropoff_before_pickup': 'is_dropoff_before_pickup',
    'pickup_outside_file_month': 'is_pickup_outside_file_month',
    'unknown_zone': 'is_unknown_zone',
    'extreme_distance': 'is_extreme_distance',
    'extreme_speed': 'is_extreme_speed',
    'extreme_fare': 'is_extreme_fare',
    'missing_passenger_count': 'is_missing_passenger_count',
    'any_invalidating_rule': 'not is_valid',
} -%}
with

trips as (

    select * from {{ ref('fct_trips') }}

),

rules as (

    select * from {{ ref('trip_validity_rules') }}

),

monthly as (

    select
        source_file_month,
        count(*) as total_rows,
        {%- for rule_name, condition in rules.items() %}
        sum(case when {{ condition }} then 1 else 0 end) as {{ rule_name }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from trips
    group by source_file_month

),

unpivoted as (

    {%- for rule_name in rules %}
    select
        source_file_month,
        '{{ rule_name }}' as rule_name,
        total_rows,
        {{ rule_name }} as failing_rows
    from monthly
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        unpivoted.source_file_month,
        cast(unpivoted.rule_name as varchar) as rule_name,
        cast(rules.rule_order as integer) as rule_order,
        cast(rules.makes_trip_invalid as boolean) as makes_trip_invalid,
        cast(unpivoted.total_rows as bigint) as total_rows,
        cast(unpivoted.failing_rows as bigint) as failing_rows,
        cast(unpivoted.failing_rows as double) / unpivoted.total_rows as share_failing,
        cast(rules.rule_definition as varchar) as rule_definition
    from unpivoted
    inner join rules
        on unpivoted.rule_name = rules.rule_name

)

select * from final
