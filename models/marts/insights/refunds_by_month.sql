{#- Are refunds netted? Per source-file month: refund rows, how many reverse a charge of their
    file (netted: the charge leaves revenue) and how many reverse nothing the file holds
    (unmatched: reported here, not netted), with their total_amount. -#}
with

trips as (

    select * from {{ ref('fct_trips') }}
    -- A yellow-taxi mart: its rules and measures are the TPEP meter's (docs: __overview__).
    where service = 'yellow'

),

final as (

    select
        source_file_month,
        cast(count(*) filter (where total_amount < 0) as bigint) as refund_rows,
        cast(
            count(*) filter (where reverses_trip_id is not null) as bigint
        ) as matched_refunds,
        cast(count(*) filter (where {{ trip_rule('unmatched_refund') }}) as bigint)
            as unmatched_refunds,
        cast(
            coalesce(sum(total_amount) filter (where reverses_trip_id is not null), 0)
            as double
        ) as matched_refund_total_paid,
        cast(
            coalesce(sum(total_amount) filter (where {{ trip_rule('unmatched_refund') }}), 0)
            as double
        ) as unmatched_refund_total_paid,
        cast(
            count(*) filter (where {{ trip_rule('reversed_by_refund') }}) as bigint
        ) as reversed_charges
    from trips
    group by source_file_month

)

select * from final
