-- data_quality_by_month agrees with fct_trips: each month's total_rows is the month's row
-- count, and the any_invalidating_rule row counts exactly the trips that are not valid.
with

quality as (

    select * from {{ ref('data_quality_by_month') }}
    where rule_name = 'any_invalidating_rule'

),

trips as (

    select
        source_file_month,
        count(*) as total_rows,
        sum(case when not is_valid then 1 else 0 end) as invalid_rows
    from {{ ref('fct_trips') }}
    group by source_file_month

)

select
    trips.source_file_month,
    quality.total_rows as quality_total_rows,
    trips.total_rows as fact_total_rows,
    quality.failing_rows as quality_invalid_rows,
    trips.invalid_rows as fact_invalid_rows
from trips
left join quality
    on trips.source_file_month = quality.source_file_month
where
    quality.total_rows is distinct from trips.total_rows
    or quality.failing_rows is distinct from trips.invalid_rows
