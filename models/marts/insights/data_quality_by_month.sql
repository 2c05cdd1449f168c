{#- How healthy is the data? Per source-file month, the rows failing each rule of the seed
    trip_validity_rules and the rows left out of each scope, over all rows of the month's
    file. Rules and scopes come from the macros over the seed, so a rule added there appears
    here, and a name that is not in the seed cannot. -#}
-- depends_on: {{ ref('trip_validity_rules') }}
{%- set rules = trip_validity_rules() %}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow'

),

monthly as (

    select
        source_file_month,
        {%- for rule in rules %}
        count(*) filter (where {{ trip_rule(rule.name) }}) as {{ rule.name }},
        {%- endfor %}
        {%- for scope in trip_scopes() %}
        count(*) filter (where not {{ valid_for(scope) }}) as excluded_from_{{ scope }},
        {%- endfor %}
        count(*) as total_rows
    from trips
    group by source_file_month

),

unpivoted as (

    {%- for rule in rules %}
    select
        source_file_month,
        '{{ rule.name }}' as rule_name,
        {{ rule.order }} as rule_order,
        '{{ rule.scopes | join(" ") }}' as excludes_from,
        total_rows,
        {{ rule.name }} as failing_rows,
        '{{ rule.definition | replace("'", "''") }}' as rule_definition
    from monthly
    union all
    {%- endfor %}
    {%- for scope in trip_scopes() %}
    select
        source_file_month,
        'excluded_from_{{ scope }}' as rule_name,
        {{ 100 + loop.index }} as rule_order,
        '{{ scope }}' as excludes_from,
        total_rows,
        excluded_from_{{ scope }} as failing_rows,
        'Rows failing at least one rule that excludes from {{ scope }}.' as rule_definition
    from monthly
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        source_file_month,
        cast(rule_name as {{ dbt.type_string() }}) as rule_name,
        cast(rule_order as integer) as rule_order,
        cast(excludes_from as {{ dbt.type_string() }}) as excludes_from,
        cast(total_rows as bigint) as total_rows,
        cast(failing_rows as bigint) as failing_rows,
        cast(failing_rows as double) / total_rows as share_failing,
        cast(rule_definition as {{ dbt.type_string() }}) as rule_definition
    from unpivoted

)

select * from final
