-- Every raw file's rows reach fct_trips exactly once, file by file: the incremental build
-- neither skips a load nor keeps the rows of a file's earlier load after a reload.
with

staged as (

    select
        source_file,
        count(*) as staged_rows
    from {{ ref('int_trips_unioned') }}
    group by source_file

),

facts as (

    select
        source_file,
        count(*) as fact_rows
    from {{ ref('fct_trips') }}
    group by source_file

)

select
    coalesce(staged.source_file, facts.source_file) as source_file,
    staged.staged_rows,
    facts.fact_rows
from staged
full outer join facts
    on staged.source_file = facts.source_file
where staged.staged_rows is distinct from facts.fact_rows
