{#- The trip validity rules, read from the seed trip_validity_rules: the one place a rule is
    written. Each rule has a SQL condition over int_trips_validated's measured columns
    (failing_when, with :threshold standing for the var named in threshold_var), what a null
    condition means (fails_when_null) and the measures it protects (excludes_from: a space-
    separated list of trip_scopes()). The macros below turn the seed into the flag columns
    (is_<rule>), the scope flags (is_valid_for_<scope>) and the quality mart; an unknown rule
    or scope name stops compilation with the list of known ones.

    The seed is read with a query at run time, so it must be loaded (dbt seed, or dbt build,
    which loads it first: the models that use these macros declare it with depends_on). -#}

{% macro trip_scopes() -%}
    {{ return(['demand', 'revenue', 'tips', 'distance_time', 'zones']) }}
{%- endmacro %}


{% macro trip_validity_rules() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {#- Unit tests see an empty graph: there the seed is found in its folder's schema
        (seeds +schema in dbt_project.yml), and read from the warehouse all the same. -#}
    {%- set node = (graph.get('nodes') or {}).get('seed.' ~ project_name ~ '.trip_validity_rules') -%}
    {%- if node -%}
        {%- set location = [node.database, node.schema, node.alias] -%}
    {%- else -%}
        {%- set location = [target.database, generate_schema_name('reference', none), 'trip_validity_rules'] -%}
    {%- endif -%}
    {%- set relation = adapter.get_relation(
        database=location[0], schema=location[1], identifier=location[2]
    ) -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            'the seed trip_validity_rules is not loaded into ' ~ location[1]
            ~ ': run dbt seed (or dbt build) first'
        ) }}
    {%- endif -%}
    {%- set query -%}
        select
            rule_name,
            rule_order,
            failing_when,
            fails_when_null,
            threshold_var,
            excludes_from,
            rule_definition
        from {{ relation }}
        order by rule_order
    {%- endset -%}
    {%- set rules = [] -%}
    {%- for row in run_query(query).rows -%}
        {%- set scopes = (row['excludes_from'] or '').split() -%}
        {%- for scope in scopes if scope not in trip_scopes() -%}
            {{ exceptions.raise_compiler_error(
                "trip_validity_rules: rule '" ~ row['rule_name'] ~ "' excludes from unknown scope '"
                ~ scope ~ "'; the scopes are " ~ trip_scopes() | join(', ')
            ) }}
        {%- endfor -%}
        {%- set condition = row['failing_when'] -%}
        {%- if row['threshold_var'] -%}
            {%- set condition = condition | replace(':threshold', var(row['threshold_var']) | string) -%}
        {%- elif ':threshold' in condition -%}
            {{ exceptions.raise_compiler_error(
                "trip_validity_rules: rule '" ~ row['rule_name'] ~ "' uses :threshold but names no threshold_var"
            ) }}
        {%- endif -%}
        {%- do rules.append({
            'name': row['rule_name'],
            'order': row['rule_order'],
            'condition': condition,
            'fails_when_null': row['fails_when_null'],
            'scopes': scopes,
            'definition': row['rule_definition'],
        }) -%}
    {%- endfor -%}
    {{ return(rules) }}
{%- endmacro %}


{#- One boolean column per rule: is_<rule_name>, never null. -#}
{% macro trip_rule_flags() -%}
    {%- for rule in trip_validity_rules() %}
        coalesce(({{ rule.condition }}), {{ 'true' if rule.fails_when_null else 'false' }})
            as is_{{ rule.name }}{{ ',' if not loop.last }}
    {%- else %}
        cast(null as boolean) as is_rules_not_loaded
    {%- endfor %}
{%- endmacro %}


{#- One boolean per scope: is_valid_for_<scope> (no rule that protects the scope fails), and
    is_valid (valid for every scope). Reads the is_<rule_name> columns of the relation. -#}
{% macro trip_scope_flags() -%}
    {%- set rules = trip_validity_rules() -%}
    {%- for scope in trip_scopes() %}
        {%- set guards = [] %}
        {%- for rule in rules if scope in rule.scopes %}{% do guards.append(rule) %}{% endfor %}
        {%- if guards %}
        not (
            {%- for rule in guards %}
            is_{{ rule.name }}{{ ' or' if not loop.last }}
            {%- endfor %}
        ) as is_valid_for_{{ scope }},
        {%- else %}
        true as is_valid_for_{{ scope }},
        {%- endif %}
    {%- endfor %}
        {%- for scope in trip_scopes() %}
        is_valid_for_{{ scope }}{{ ' and' if not loop.last else ' as is_valid' }}
        {%- endfor %}
{%- endmacro %}


{#- The flag column of one rule, checked against the seed: a misspelled name fails. -#}
{% macro trip_rule(rule_name) -%}
    {%- if execute -%}
        {%- set names = trip_validity_rules() | map(attribute='name') | list -%}
        {%- if rule_name not in names -%}
            {{ exceptions.raise_compiler_error(
                "unknown trip validity rule '" ~ rule_name ~ "'; seed trip_validity_rules has "
                ~ names | join(', ')
            ) }}
        {%- endif -%}
    {%- endif -%}
    is_{{ rule_name }}
{%- endmacro %}


{#- The validity flag of one scope, checked: a misspelled scope fails. -#}
{% macro valid_for(scope) -%}
    {%- if scope not in trip_scopes() -%}
        {{ exceptions.raise_compiler_error(
            "unknown trip scope '" ~ scope ~ "'; the scopes are " ~ trip_scopes() | join(', ')
        ) }}
    {%- endif -%}
    is_valid_for_{{ scope }}
{%- endmacro %}
