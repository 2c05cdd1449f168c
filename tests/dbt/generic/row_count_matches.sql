{#- Row-count reconciliation between layers: fails when the model's row count (optionally
    filtered) differs from compare_model's (optionally filtered). Returns one row with both. -#}
{% test row_count_matches(model, compare_model, model_filter=none, compare_filter=none) %}

with

model_rows as (

    select count(*) as row_count
    from {{ model }}
    {%- if model_filter %}
    where {{ model_filter }}
    {%- endif %}

),

compare_rows as (

    select count(*) as row_count
    from {{ compare_model }}
    {%- if compare_filter %}
    where {{ compare_filter }}
    {%- endif %}

)

select
    model_rows.row_count as model_row_count,
    compare_rows.row_count as compare_row_count
from model_rows
cross join compare_rows
where model_rows.row_count != compare_rows.row_count

{% endtest %}
