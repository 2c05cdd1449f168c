-- data_quality_by_month agrees with fct_trips: each month's total_rows is the month's row
-- count, and each excluded_from_<scope> row counts exactly the trips not valid for the scope.
with

quality as (

    select * from {{ ref('data_quality_by_month') }}
    where rule_name like 'excluded_from_%'

),

trips as (

    select
        source_file_month,
        {%- for scope in trip_scopes() %}
        count(*) filter (where not {{ valid_for(scope) }}) as excluded_from_{{ scope }},
        {%- endfor %}
        count(*) as total_rows
    from {{ ref('fct_trips') }}
    where service = 'yellow'
    group by source_file_month

),

expected as (

    {%- for scope in trip_scopes() %}
    select
        source_file_month,
        total_rows,
        'excluded_from_{{ scope }}' as rule_name,
        excluded_from_{{ scope }} as failing_rows
    from trips
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

)

select
    expected.source_file_month,
    expected.rule_name,
    quality.total_rows as quality_total_rows,
    expected.total_rows as fact_total_rows,
    quality.failing_rows as quality_failing_rows,
    expected.failing_rows as fact_failing_rows
from expected
left join quality
    on
        expected.source_file_month = quality.source_file_month
        and expected.rule_name = quality.rule_name
where
    quality.total_rows is distinct from expected.total_rows
    or quality.failing_rows is distinct from expected.failing_rows
