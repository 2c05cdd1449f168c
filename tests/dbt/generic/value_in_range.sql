{#- Fails for every non-null value of column_name outside [min_value, max_value] (either
    bound optional). dbt_utils.accepted_range would do this; Hub packages are not available. -#}
{% test value_in_range(model, column_name, min_value=none, max_value=none, where_clause=none) %}

select {{ column_name }} as out_of_range_value
from {{ model }}
where
    {{ column_name }} is not null
    and (
        false
        {%- if min_value is not none %}
        or {{ column_name }} < {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or {{ column_name }} > {{ max_value }}
        {%- endif %}
    )
    {%- if where_clause %}
    and ({{ where_clause }})
    {%- endif %}

{% endtest %}
